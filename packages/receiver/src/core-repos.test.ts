import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { CORE_REPOS, seedCoreRepositories } from './core-repos.js';

const gitEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir() };

function stacksFixture(root: string, names: readonly string[]): string {
  const stacks = join(root, 'stacks');
  for (const name of names) {
    mkdirSync(join(stacks, name, 'conf'), { recursive: true });
    writeFileSync(join(stacks, name, 'docker-compose.yml'), `# the ${name} stack\n`);
    writeFileSync(join(stacks, name, '.env'), 'DOMAIN=${ROOT_DOMAIN}\n');
    writeFileSync(join(stacks, name, 'conf', 'extra.yml'), 'nested: true\n');
  }
  return stacks;
}

const show = async (repo: string, path: string) =>
  (await execa('git', ['--git-dir', repo, 'show', `master:${path}`])).stdout;

describe('seedCoreRepositories', () => {
  it('creates each missing core repository with the stack folder as one commit on master, dotfiles included', async () => {
    const root = mkdtempSync(join(tmpdir(), 'swarmlet-seed-'));
    const repos = join(root, 'repos');
    const stacks = stacksFixture(root, CORE_REPOS);
    expect(await seedCoreRepositories(repos, stacks, gitEnv)).toEqual(['registry', 'router', 'deployer']);
    expect(readdirSync(repos).sort()).toEqual(['deployer.git', 'registry.git', 'router.git']);
    const registry = join(repos, 'registry.git');
    expect(await show(registry, '.env')).toBe('DOMAIN=${ROOT_DOMAIN}');
    expect(await show(registry, 'docker-compose.yml')).toBe('# the registry stack');
    expect(await show(registry, 'conf/extra.yml')).toBe('nested: true');
    const log = await execa('git', ['--git-dir', registry, 'log', '--format=%an %s', 'master']);
    expect(log.stdout).toBe('Swarmlet Seed the registry core stack');
    expect((await execa('git', ['--git-dir', registry, 'symbolic-ref', 'HEAD'])).stdout).toBe('refs/heads/master');
    const clone = join(root, 'clone');
    await execa('git', ['clone', '--quiet', registry, clone]);
    expect(readdirSync(clone).sort()).toEqual(['.env', '.git', 'conf', 'docker-compose.yml']);
  });

  it('leaves an existing repository as it is and skips a stack folder that is missing', async () => {
    const root = mkdtempSync(join(tmpdir(), 'swarmlet-seed-'));
    const repos = join(root, 'repos');
    const stacks = stacksFixture(root, ['registry', 'router']);
    await execa('git', ['init', '--quiet', '--bare', join(repos, 'router.git')]);
    expect(await seedCoreRepositories(repos, stacks, gitEnv)).toEqual(['registry']);
    await expect(execa('git', ['--git-dir', join(repos, 'router.git'), 'rev-parse', 'master'])).rejects.toThrow();
    expect(readdirSync(repos).sort()).toEqual(['registry.git', 'router.git']);
    expect(await seedCoreRepositories(repos, stacks, gitEnv)).toEqual([]);
  });
});
