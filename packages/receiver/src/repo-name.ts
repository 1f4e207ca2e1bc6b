import { PLATFORM_STACKS } from '@swarmlet/deployer';

/**
 * A repository name as a git client sends it, reduced to the app name it stands for. Accepted: lower-case letters,
 * digits, `-`, `_` and `.`, starting with a letter or digit, at most 63 characters, with an optional `.git` suffix
 * and an optional leading `/` or `~/` (as `git@host:app`, `ssh://host/app.git` and `git@host:~/app` send it),
 * optionally wrapped in single quotes as git quotes it on the SSH command line.
 * Everything else (`..`, other absolute paths, upper case, spaces, quoting tricks, `.git` alone) is refused with
 * a `RepoNameError`, before the name comes anywhere near the disk; so is the name of one of the platform's own
 * stacks that has no repository (`PLATFORM_STACKS`), which an app of that name would replace.
 */
export function parseRepoName(raw: string): string {
  const unquoted = /^'[^']*'$/.test(raw) ? raw.slice(1, -1) : raw;
  const bare = unquoted.replace(/^(?:~\/|\/)/, '').replace(/\.git$/, '');
  if (!APP_NAME.test(bare) || bare.includes('..')) {
    throw new RepoNameError(raw);
  }
  if (PLATFORM_STACKS.includes(bare)) {
    throw new RepoNameError(raw, `${bare} is the name of one of the platform's own stacks: choose another app name`);
  }
  return bare;
}

const APP_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

/** A repository name that {@link parseRepoName} refused. The message is safe to show to the pusher. */
export class RepoNameError extends Error {
  constructor(
    readonly raw: string,
    reason = `invalid repository name ${JSON.stringify(raw.slice(0, 80))}: use lower-case letters, digits, '-', '_' and '.', starting with a letter or digit`,
  ) {
    super(reason);
    this.name = 'RepoNameError';
  }
}
