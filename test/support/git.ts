import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';

/** Runs git in `cwd` with a fixed author and committer; never rejects (see `exitCode`), output in `all`. */
export function gitIn(cwd: string, args: string[], env: Record<string, string> = {}) {
  return execa('git', args, {
    cwd,
    reject: false,
    all: true,
    env: { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t', ...env },
  });
}

/** Writes `files` into the work tree `repo`, commits everything, and resolves with the new commit's SHA. */
export async function commitFiles(repo: string, files: Record<string, string>, message: string): Promise<string> {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(repo, name), text);
  await gitIn(repo, ['add', '-A']);
  const committed = await gitIn(repo, ['commit', '--quiet', '-m', message]);
  if (committed.exitCode !== 0) throw new Error(`git commit failed: ${committed.all}`);
  return (await gitIn(repo, ['rev-parse', 'HEAD'])).stdout;
}
