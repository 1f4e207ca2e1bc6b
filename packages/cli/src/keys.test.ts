import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const main = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');

describe('swarmlet keys add|list|remove', () => {
  it('manages the authorized_keys file the receiver reads, refusing bad input without touching it', async () => {
    const work = mkdtempSync(join(tmpdir(), 'swarmlet-keys-'));
    const file = join(work, 'authorized_keys');
    writeFileSync(file, '# kept comment\n');
    const keys = (args: string[], input = '') =>
      execa('node', [main, 'keys', ...args], {
        env: { SWARMLET_AUTHORIZED_KEYS: file, HOME: work },
        input,
        reject: false,
      });
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'laptop', '-f', join(work, 'id')]);
    const publicKey = readFileSync(join(work, 'id.pub'), 'utf8');
    const fingerprint = (await execa('ssh-keygen', ['-l', '-f', join(work, 'id.pub')])).stdout.split(' ')[1];

    const added = await keys(['add', 'alice'], publicKey);
    expect(added.exitCode).toBe(0);
    expect(added.stdout).toBe(`added ${fingerprint ?? ''} ssh-ed25519 admin alice`);
    expect(readFileSync(file, 'utf8')).toBe(`# kept comment\n${publicKey.trim().replace(/ laptop$/, ' alice')}\n`);

    const again = await keys(['add'], publicKey);
    expect(again.exitCode).toBe(1);
    const garbage = await keys(['add'], 'ssh-ed25519 AAAAnot-a-key x\n');
    expect(garbage.exitCode).toBe(1);
    expect(garbage.stderr).toMatch(/^swarmlet: /);
    const listed = await keys(['list']);
    expect(listed.stdout).toBe(`${fingerprint ?? ''} ssh-ed25519 admin alice`);

    const missing = await keys(['remove', 'bob']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toBe('swarmlet: no authorized key has the comment bob');
    const removed = await keys(['remove', fingerprint ?? '']);
    expect(removed).toMatchObject({ exitCode: 0, stdout: `removed ${fingerprint ?? ''} ssh-ed25519 admin alice` });
    expect(readFileSync(file, 'utf8')).toBe('# kept comment\n');
    expect((await keys(['list'])).stdout).toBe('');

    const usage = await keys(['rotate']);
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr).toContain('keys add [--role admin|deployer --apps A,B] [comment] < key.pub');
  }, 180_000);

  it('gives a key a role (deployer of named apps), shows it, changes it, and refuses bad roles changing nothing', async () => {
    const work = mkdtempSync(join(tmpdir(), 'swarmlet-keys-roles-'));
    const file = join(work, 'authorized_keys');
    const roles = `${file}.swarmlet-roles`;
    const keys = (args: string[], input = '') =>
      execa('node', [main, 'keys', ...args], {
        env: { SWARMLET_AUTHORIZED_KEYS: file, HOME: work },
        input,
        reject: false,
      });
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ci', '-f', join(work, 'ci')]);
    const publicKey = readFileSync(join(work, 'ci.pub'), 'utf8');
    const fingerprint = (await execa('ssh-keygen', ['-l', '-f', join(work, 'ci.pub')])).stdout.split(' ')[1] ?? '';

    for (const [args, message] of [
      [['add', '--role', 'deployer'], 'a deployer key needs the apps it may deploy: --apps APP[,APP...]'],
      [['add', '--apps', 'shop'], '--apps goes with --role deployer: an admin key reaches every app'],
      [['add', '--role', 'deployer', '--apps', 'shop,Bad'], 'invalid app name "Bad"'],
      [['add', '--role', 'deployer', '--apps', 'registry'], 'registry is a core app of the platform'],
      [['add', '--role', 'owner'], 'unknown role "owner"'],
    ] as const) {
      const refused = await keys([...args], publicKey);
      expect({ args, code: refused.exitCode }).toEqual({ args, code: 1 });
      expect(refused.stderr).toContain(`swarmlet: ${message}`);
    }
    expect(existsSync(file) || existsSync(roles)).toBe(false);
    const optioned = await keys(['add'], `command="/bin/true" ${publicKey}`);
    expect(optioned.exitCode).toBe(1);
    expect(optioned.stderr).toBe(
      `swarmlet: key ${fingerprint} (ci): option command= is not enforced by swarmlet: remove it or use a deployer role`,
    );

    const added = await keys(['add', '--role', 'deployer', '--apps', 'shop,blog'], publicKey);
    expect(added).toMatchObject({ exitCode: 0, stdout: `added ${fingerprint} ssh-ed25519 deployer:shop,blog ci` });
    expect(readFileSync(file, 'utf8')).toBe(publicKey);
    expect(statSync(roles).mode & 0o777).toBe(0o600);
    const listed = await keys(['list', '--json']);
    expect(JSON.parse(listed.stdout)).toEqual([
      { fingerprint, type: 'ssh-ed25519', comment: 'ci', line: 1, role: 'deployer', apps: ['shop', 'blog'] },
    ]);

    const changed = await keys(['role', 'ci', '--role', 'deployer', '--apps', 'shop']);
    expect(changed).toMatchObject({ exitCode: 0, stdout: `changed ${fingerprint} ssh-ed25519 deployer:shop ci` });
    expect((await keys(['role', fingerprint, '--role', 'admin'])).stdout).toBe(
      `changed ${fingerprint} ssh-ed25519 admin ci`,
    );
    expect((await keys(['role', 'ci'])).stderr).toBe('swarmlet: say the new role: --role admin|deployer [--apps A,B]');
    expect((await keys(['list'])).stdout).toBe(`${fingerprint} ssh-ed25519 admin ci`);

    writeFileSync(file, `${readFileSync(file, 'utf8')}restrict ${publicKey.replace(' ci', ' old')}`);
    const withProblem = await keys(['list']);
    expect(withProblem.stderr).toBe(
      `swarmlet: ${file} line 2: key ${fingerprint} (old): option restrict is not enforced by swarmlet: remove it (no key gets a shell, pty or forwarding here) or use a deployer role`,
    );
    expect((await keys(['remove', 'ci'])).exitCode).toBe(0);
    expect(JSON.parse(readFileSync(roles, 'utf8'))).toEqual({ version: 1, keys: {} });
  }, 300_000);
});
