import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { execa } from 'execa';
import { ensureStandInImage, removeStack, requireEngine } from '../support/docker.js';
import { commitFiles } from '../support/git.js';
import { startLocalPlatform, type LocalPlatform } from '../support/platform.js';

const COMPOSE = `services:
  web:
    build: .
    command: ["sh", "-c", "sleep 100000"]
`;

/**
 * Key roles end to end, with the real OpenSSH client and git against `swarmlet up`: the platform's first key comes
 * from a keys file without roles (an admin), a deployer key is added with the CLI for two apps, and a key line with
 * `command=` is written by hand.
 */
describe('admin and deployer keys', () => {
  const work = mkdtempSync(join(tmpdir(), 'swarmlet-roles-'));
  const [own, other, listed, unlisted] = ['a', 'b', 'c', 'd'].map((name) => `roles-${name}-${process.pid}`) as [
    string,
    string,
    string,
    string,
  ];
  const deployerKey = join(work, 'ci_ed25519');
  const boxedKey = join(work, 'boxed_ed25519');
  let docker: Docker;
  let platform: LocalPlatform;
  let deployer: Pick<LocalPlatform, 'ssh' | 'git'>;
  let fingerprint = '';

  const makeApp = async (app: string): Promise<string> => {
    const dir = join(work, app);
    await platform.initRepository(dir, app);
    await commitFiles(dir, { Dockerfile: 'FROM busybox\n', 'docker-compose.yml': COMPOSE }, app);
    return dir;
  };

  beforeAll(async () => {
    docker = await requireEngine();
    await ensureStandInImage(docker, 'busybox');
    platform = await startLocalPlatform(work);
    deployer = platform.as(deployerKey);
    for (const key of [deployerKey, boxedKey]) {
      await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ci', '-f', key]);
    }
    fingerprint = (await execa('ssh-keygen', ['-l', '-f', `${deployerKey}.pub`])).stdout.split(' ')[1] ?? '';
    const added = await platform.cli(['keys', 'add', '--role', 'deployer', '--apps', `${own},${listed}`, 'ci'], {
      input: readFileSync(`${deployerKey}.pub`, 'utf8'),
    });
    if (added.exitCode !== 0) throw new Error(`keys add failed: ${added.all}`);
    appendFileSync(
      platform.env.SWARMLET_AUTHORIZED_KEYS ?? '',
      `command="/bin/true" ${readFileSync(`${boxedKey}.pub`, 'utf8')}`,
    );
  }, 300_000);

  afterAll(async () => {
    await platform.stop();
    for (const app of [own, other]) await removeStack(docker, app, `swarmlet.app=${app}`);
    rmSync(work, { recursive: true, force: true });
  }, 180_000);

  it('the key of a keys file without roles is an admin: it pushes any app and reaches the core repos and keys', async () => {
    const pushed = await platform.git(await makeApp(other), 'push', 'swarmlet', 'master');
    expect(pushed.exitCode).toBe(0);
    expect(pushed.stderr).toContain(`-----> Deployed ${other}`);
    const registry = await platform.git(work, 'ls-remote', platform.remote('registry'));
    expect(registry.exitCode).toBe(0);
    expect(registry.stdout).toContain('refs/heads/master');
    const keys = await platform.ssh(['keys', 'list']);
    expect(keys.exitCode).toBe(0);
    expect(keys.stdout.split('\n')).toEqual([
      expect.stringMatching(/^SHA256:\S+ ssh-ed25519 admin pusher$/),
      `${fingerprint} ssh-ed25519 deployer:${own},${listed} ci`,
    ]);
    expect(keys.stderr).toMatch(/line 3: key SHA256:\S+ \(ci\): option command= is not enforced by swarmlet/);
    expect((await platform.ssh(['status', other])).exitCode).toBe(0);
  }, 300_000);

  it('a deployer key pushes and deploys its app, and runs its verbs there, in its own name', async () => {
    const pushed = await deployer.git(await makeApp(own), 'push', 'swarmlet', 'master');
    expect(pushed.exitCode).toBe(0);
    expect(pushed.stderr).toContain(`-----> Deployed ${own}`);
    const status = await deployer.ssh(['status', own]);
    expect(status.exitCode).toBe(0);
    expect(status.stdout).toContain(`app        ${own}`);
    const deploys = JSON.parse((await deployer.ssh(['deploys', own, '--json'])).stdout) as { by: string }[];
    expect(deploys[0]?.by).toBe(`ci ${fingerprint}`);
    const apps = await deployer.ssh(['apps', '--json']);
    expect(apps.exitCode).toBe(0);
    const names = (JSON.parse(apps.stdout) as { app: string }[]).map((entry) => entry.app);
    expect(names).toContain(own);
    expect(names.every((name) => name === own || name === listed)).toBe(true);
    const table = await deployer.ssh(['apps']);
    expect(table.stdout).toContain(own);
    expect(table.stdout).not.toContain(other);
    expect(table.stdout).not.toContain('registry');
  }, 300_000);

  it('a deployer key cannot push, fetch or operate other apps or the core repos, nor run keys', async () => {
    const role = `this key is a deployer of ${own}, ${listed}`;
    const reposDir = join(platform.env.SWARMLET_DATA_DIR ?? '', 'receiver', 'repos');
    const otherHead = await platform.git(work, 'ls-remote', platform.remote(other), 'refs/heads/master');

    const intoOther = await deployer.git(join(work, own), 'push', platform.remote(other), 'master:master');
    expect(intoOther.exitCode).not.toBe(0);
    expect(intoOther.stderr).toContain(`swarmlet: ${role}: it cannot reach the app "${other}"`);
    expect((await platform.git(work, 'ls-remote', platform.remote(other), 'refs/heads/master')).stdout).toBe(
      otherHead.stdout,
    );
    const created = await deployer.git(join(work, own), 'push', platform.remote(unlisted), 'master:feature');
    expect(created.exitCode).not.toBe(0);
    expect(created.stderr).toContain(`it cannot reach the app "${unlisted}"`);
    expect(existsSync(join(reposDir, `${unlisted}.git`))).toBe(false);
    const allowed = await deployer.git(join(work, own), 'push', platform.remote(listed), 'master:feature');
    expect(allowed.exitCode).toBe(0);
    expect(existsSync(join(reposDir, `${listed}.git`))).toBe(true);

    const clone = await deployer.git(work, 'clone', '--quiet', platform.remote('registry'), join(work, 'registry'));
    expect(clone.exitCode).not.toBe(0);
    expect(clone.stderr).toContain(`"registry" is a core app: only admin keys reach it, and ${role}`);
    expect(existsSync(join(work, 'registry', '.env'))).toBe(false);

    for (const [args, reason] of [
      [['keys', 'list'], `\`keys list\` needs an admin key: ${role}`],
      [['status', other], `${role}: it cannot reach the app "${other}"`],
      [['destroy', other, '--confirm', other], `${role}: it cannot reach the app "${other}"`],
      [['config', 'show', 'deployer'], `"deployer" is a core app: only admin keys reach it, and ${role}`],
    ] as const) {
      const result = await deployer.ssh([...args]);
      expect({ args, code: result.exitCode, stdout: result.stdout, stderr: result.stderr }).toEqual({
        args,
        code: 1,
        stdout: '',
        stderr: `swarmlet: ${reason}`,
      });
    }
    expect((await platform.ssh(['status', other])).stdout).toContain(`app        ${other}`);
  }, 300_000);

  it('a key line with command= is refused: that key cannot log in', async () => {
    const boxed = await platform.as(boxedKey).ssh(['help']);
    expect(boxed.exitCode).toBe(255);
    expect(boxed.stderr).toContain('Permission denied (publickey)');
  }, 60_000);
});
