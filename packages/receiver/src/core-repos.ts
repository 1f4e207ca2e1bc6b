import { cp, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { isDirectory } from './repositories.js';

/** The platform's own stacks, each kept as a repository that can be cloned, changed and pushed like an app's. */
export const CORE_REPOS = ['registry', 'router', 'deployer'] as const;

/** The branch a seeded repository's first commit is on: the deploy branch. */
const SEED_BRANCH = 'master';

const SEED_IDENTITY = {
  GIT_AUTHOR_NAME: 'Swarmlet',
  GIT_AUTHOR_EMAIL: 'swarmlet@localhost',
  GIT_COMMITTER_NAME: 'Swarmlet',
  GIT_COMMITTER_EMAIL: 'swarmlet@localhost',
};

/**
 * Makes sure each core repository (`registry`, `router`, `deployer`) exists under `reposDir` as `<name>.git`:
 * a missing one is created with one commit on `master` holding every file of `<stacksDir>/<name>/` (dotfiles
 * such as `.env` included). An existing repository is never touched, so what users pushed stays. A repository
 * is assembled beside its final place and renamed into it, so a crash leaves no half-made one; a stack folder
 * that is missing is skipped. Resolves with the names seeded now.
 * @throws an execa error when git fails; the partial repository is removed first.
 */
export async function seedCoreRepositories(
  reposDir: string,
  stacksDir: string,
  gitEnv: Readonly<Record<string, string>>,
): Promise<string[]> {
  const seeded: string[] = [];
  for (const name of CORE_REPOS) {
    const target = join(reposDir, `${name}.git`);
    const source = join(stacksDir, name);
    if ((await isDirectory(target)) || !(await isDirectory(source))) continue;
    await mkdir(reposDir, { recursive: true });
    await seedRepository(reposDir, name, source, gitEnv);
    seeded.push(name);
  }
  return seeded;
}

async function seedRepository(
  reposDir: string,
  name: string,
  source: string,
  gitEnv: Readonly<Record<string, string>>,
): Promise<void> {
  const scratch = await mkdtemp(join(reposDir, '.seed-'));
  try {
    const bare = join(scratch, 'repo.git');
    const tree = join(scratch, 'tree');
    const env = { ...gitEnv, ...SEED_IDENTITY };
    const git = (args: string[], cwd: string) => execa('git', args, { cwd, env, extendEnv: false });
    await git(['init', '--quiet', '--bare', `--initial-branch=${SEED_BRANCH}`, bare], scratch);
    await cp(source, tree, { recursive: true });
    await git(['init', '--quiet', `--initial-branch=${SEED_BRANCH}`], tree);
    await git(['add', '--all', '--force'], tree);
    await git(['commit', '--quiet', '--no-verify', '-m', `Seed the ${name} core stack`], tree);
    await git(['push', '--quiet', bare, `${SEED_BRANCH}:refs/heads/${SEED_BRANCH}`], tree);
    await rename(bare, join(reposDir, `${name}.git`));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
