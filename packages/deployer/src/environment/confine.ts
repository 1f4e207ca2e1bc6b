import { lchown, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import type { EntrypointUser } from './entrypoint-users.js';

/**
 * Gives the work tree `tree` to `user`: the tree and everything in it (links themselves, never what they point to)
 * become the user's. Run as root, before anything of the user runs.
 * @throws Error when the tree's parent directory is open to other users than this process's: it must be closed
 * (0700, as the checkout makes it) so the user reaches the tree only from inside (its working directory) and
 * nothing beside it.
 */
export async function handTreeTo(tree: string, user: EntrypointUser): Promise<void> {
  const parent = await stat(dirname(tree));
  if ((parent.mode & 0o077) !== 0 || parent.uid !== process.getuid?.()) {
    throw new Error(`${dirname(tree)} is open to other users: the entrypoint's tree must sit in a closed directory`);
  }
  await lchown(tree, user.uid, user.gid);
  for (const entry of await readdir(tree, { recursive: true })) {
    await lchown(join(tree, entry), user.uid, user.gid);
  }
}

/**
 * Kills every process of `user`, wherever it is (a daemon that left the process group included), with one
 * `kill(-1, SIGKILL)` made by a `bash` running as that user: the kernel applies it to all of them at once, so a
 * process forking meanwhile cannot slip through. Resolves once it is done.
 * @throws Error when the killer cannot run or fails.
 */
export async function killEveryProcessOf(user: EntrypointUser, bash: string): Promise<void> {
  const result = await execa(bash, ['--noprofile', '--norc', '-c', 'builtin kill -s KILL -- -1'], {
    cwd: '/',
    env: {},
    extendEnv: false,
    stdin: 'ignore',
    uid: user.uid,
    gid: user.gid,
    reject: false,
  });
  const noneLeft = result.exitCode === 1 && result.stderr.includes('No such process');
  if (result.exitCode !== 0 && !noneLeft) {
    throw new Error(`could not stop the processes of uid ${user.uid}: ${result.shortMessage}`);
  }
}
