import { appendFile, chmod, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { simpleGit } from 'simple-git';

/** What to check out. */
export interface CheckoutRequest {
  /** A git repository on this machine: a bare repository or a work tree. */
  repository: string;
  /** The full commit SHA. */
  commit: string;
  /**
   * Where the work tree goes; anything already there is removed first. Its parent directory is made 0700, so no
   * other user reaches the tree from outside (a confined entrypoint works in it from inside).
   */
  directory: string;
  /**
   * Further object directories that hold the commit: a pre-receive hook's quarantine
   * (`GIT_QUARANTINE_PATH`), where a pushed commit lives until the push is accepted.
   */
  objectDirectories?: string[];
}

/**
 * Makes `directory` a clean work tree of `commit`: a fresh `git clone --shared --no-checkout` of the repository
 * (nothing left over from an earlier deploy, no object copied), the extra object directories added as
 * alternates, then a detached checkout of the commit. Resolves with the commit's full SHA.
 * @throws Error naming the commit when it is not in the repository.
 */
export async function checkoutCommit(request: CheckoutRequest): Promise<string> {
  if (!/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(request.commit)) {
    throw new Error(`not a full commit SHA: ${JSON.stringify(request.commit.slice(0, 80))}`);
  }
  await rm(request.directory, { recursive: true, force: true });
  await mkdir(dirname(request.directory), { recursive: true, mode: 0o700 });
  await chmod(dirname(request.directory), 0o700);
  await simpleGit().clone(request.repository, request.directory, ['--shared', '--no-checkout', '--quiet']);
  if (request.objectDirectories?.length) {
    const alternates = join(request.directory, '.git', 'objects', 'info', 'alternates');
    await appendFile(alternates, request.objectDirectories.map((path) => `${path}\n`).join(''));
  }
  const git = simpleGit(request.directory);
  try {
    await git.raw(['checkout', '--quiet', '--detach', '--force', request.commit]);
  } catch (error) {
    throw new Error(`commit ${request.commit} is not in ${request.repository}: ${(error as Error).message.trim()}`, {
      cause: error,
    });
  }
  return (await git.revparse(['HEAD'])).trim();
}
