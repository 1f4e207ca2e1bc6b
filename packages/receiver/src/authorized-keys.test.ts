import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import {
  addAuthorizedKey,
  AuthorizedKeysError,
  AuthorizedKeysFile,
  parseAuthorizedKeys,
  readAuthorizedKeys,
  removeAuthorizedKey,
  setAuthorizedKeyRole,
} from './authorized-keys.js';
import { ADMIN, deployerOf } from './key-role.js';
import { KeyRolesFileError } from './key-roles-file.js';

const dir = mkdtempSync(join(tmpdir(), 'swarmlet-authkeys-'));

async function makeKey(name: string, type = 'ed25519', comment = `${name}@laptop`): Promise<string> {
  const file = join(dir, name);
  await execa('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', comment, '-f', file]);
  return readFileSync(`${file}.pub`, 'utf8').trim();
}

async function fingerprint(line: string): Promise<string> {
  const file = join(dir, 'fingerprint.pub');
  writeFileSync(file, `${line}\n`);
  return (await execa('ssh-keygen', ['-l', '-f', file])).stdout.split(' ')[1] ?? '';
}

describe('parseAuthorizedKeys', () => {
  it('reads keys, comments and options, and skips bad lines with their line numbers', async () => {
    const alice = await makeKey('alice');
    const bob = await makeKey('bob', 'ecdsa');
    const [bobType, bobData] = bob.split(' ');
    const text = [
      '# team keys',
      '',
      alice,
      `no-pty,no-port-forwarding,pty ${bobType} ${bobData} bob with spaces`,
      'ssh-dss AAAAB3NzaC1kc3MAAACBAP bad',
      `from="10.0.0.0/8" ${alice}`,
      'ssh-ed25519 AAAA-garbage',
      `cert-authority ${alice}`,
      `frobnicate ${alice}`,
      `command="unterminated ${alice}`,
      `verify-required ${alice}\r`,
    ].join('\n');
    const parsed = parseAuthorizedKeys(text);
    expect(parsed.keys.map((key) => [key.line, key.publicKey.type, key.comment])).toEqual([
      [3, 'ssh-ed25519', 'alice@laptop'],
      [4, 'ecdsa-sha2-nistp256', 'bob with spaces'],
      [11, 'ssh-ed25519', 'alice@laptop'],
    ]);
    expect(parsed.keys[0]?.publicKey.fingerprint).toBe(await fingerprint(alice));
    expect(parsed.keys[1]?.options).toBe('no-pty,no-port-forwarding,pty');
    expect(parsed.keys.map((key) => key.role)).toEqual([ADMIN, ADMIN, ADMIN]);
    expect(parsed.keys[2]?.requireUserVerification).toBe(true);
    expect(parsed.problems.map((problem) => `${problem.line}: ${problem.message}`)).toEqual([
      '5: unsupported key type "ssh-dss"',
      `6: key ${await fingerprint(alice)} (alice@laptop): option from= is not enforced by swarmlet: remove it: the receiver cannot limit a key to addresses (a firewall can)`,
      '7: the key is not valid base64',
      `8: key ${await fingerprint(alice)} (alice@laptop): option cert-authority is not enforced by swarmlet: remove it: the receiver takes plain public keys, not certificates`,
      '9: unknown option "frobnicate"',
      '10: an option has an unterminated quote',
    ]);
  });
});

describe('options the receiver does not enforce', () => {
  it.each([
    ['command="/usr/bin/true"', 'command='],
    ['restrict', 'restrict'],
    ['no-pty,restrict', 'restrict'],
    ['from="10.0.0.1"', 'from='],
    ['environment="A=1"', 'environment='],
    ['permitopen="localhost:80"', 'permitopen='],
    ['permitlisten="8080"', 'permitlisten='],
    ['expiry-time="20300101"', 'expiry-time='],
    ['principals="ops"', 'principals='],
    ['cert-authority', 'cert-authority'],
    ['tunnel="1"', 'tunnel='],
    ['COMMAND="x"', 'command='],
  ])('refuse a key with %s, saying so', async (options, spelled) => {
    const key = await makeKey(`opt-${spelled.replace('=', '')}-${options.length}`);
    const parsed = parseAuthorizedKeys(`${options} ${key}\n`);
    expect(parsed.keys).toEqual([]);
    expect(parsed.problems).toEqual([
      {
        line: 1,
        message: expect.stringMatching(
          new RegExp(`^key SHA256:\\S+ \\(\\S+\\): option ${spelled} is not enforced by swarmlet: remove it`),
        ) as unknown,
      },
    ]);
    await expect(addAuthorizedKey(join(dir, 'opt-add'), `${options} ${key}`)).rejects.toThrow(
      `option ${spelled} is not enforced by swarmlet`,
    );
  });

  it('keeps the options that only deny what the receiver never offers', async () => {
    const key = await makeKey('opt-harmless');
    const options = 'no-pty,no-port-forwarding,no-agent-forwarding,no-x11-forwarding,no-user-rc,verify-required';
    const [parsed] = parseAuthorizedKeys(`${options} ${key}`).keys;
    expect(parsed).toMatchObject({ options, requireUserVerification: true, role: ADMIN });
  });
});

describe('key roles', () => {
  it('records a role beside the key, keeps it in step through role changes and removal, 0600', async () => {
    const path = join(dir, 'roles', 'authorized_keys');
    const roles = `${path}.swarmlet-roles`;
    const admin = await addAuthorizedKey(path, await makeKey('roles-admin'));
    const deployer = await addAuthorizedKey(path, await makeKey('roles-ci'), 'ci', deployerOf(['shop', 'blog']));
    expect(deployer.role).toEqual({ role: 'deployer', apps: ['shop', 'blog'] });
    expect(statSync(roles).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(roles, 'utf8'))).toEqual({
      version: 1,
      keys: {
        [admin.publicKey.fingerprint]: { role: 'admin' },
        [deployer.publicKey.fingerprint]: { role: 'deployer', apps: ['shop', 'blog'] },
      },
    });
    expect(readFileSync(path, 'utf8')).not.toContain('shop');
    const read = async () => (await readAuthorizedKeys(path)).keys.map((key) => [key.comment, key.role]);
    expect(await read()).toEqual([
      ['roles-admin@laptop', ADMIN],
      ['ci', { role: 'deployer', apps: ['shop', 'blog'] }],
    ]);

    await setAuthorizedKeyRole(path, 'ci', deployerOf(['shop']));
    await setAuthorizedKeyRole(path, 'roles-admin@laptop', deployerOf(['blog']));
    expect(await read()).toEqual([
      ['roles-admin@laptop', { role: 'deployer', apps: ['blog'] }],
      ['ci', { role: 'deployer', apps: ['shop'] }],
    ]);
    await expect(setAuthorizedKeyRole(path, 'nobody', ADMIN)).rejects.toThrow('no authorized key has the comment');

    await removeAuthorizedKey(path, 'ci');
    expect(Object.keys((JSON.parse(readFileSync(roles, 'utf8')) as { keys: object }).keys)).toEqual([
      admin.publicKey.fingerprint,
    ]);
  }, 120_000);

  it('gives the keys of a file without roles the admin role, and lets no key in while the roles file is bad', async () => {
    const path = join(dir, 'legacy', 'authorized_keys');
    const old = await addAuthorizedKey(path, await makeKey('legacy-old'));
    rmSync(`${path}.swarmlet-roles`);
    const warnings: string[] = [];
    const file = new AuthorizedKeysFile(path, (message) => warnings.push(message));
    expect((await file.keys()).map((key) => key.role)).toEqual([ADMIN]);

    writeFileSync(
      `${path}.swarmlet-roles`,
      JSON.stringify({ version: 1, keys: { [old.publicKey.fingerprint]: { role: 'deployer', apps: ['x'] } } }),
    );
    expect((await file.keys()).map((key) => key.role)).toEqual([{ role: 'deployer', apps: ['x'] }]);

    for (const bad of [
      '{ not json',
      JSON.stringify({ version: 2, keys: {} }),
      JSON.stringify({ version: 1, keys: { [old.publicKey.fingerprint]: { role: 'root' } } }),
      JSON.stringify({ version: 1, keys: { [old.publicKey.fingerprint]: { role: 'deployer', apps: ['../etc'] } } }),
      JSON.stringify({ version: 1, keys: { [old.publicKey.fingerprint]: { role: 'deployer', apps: ['registry'] } } }),
      JSON.stringify({ version: 1, keys: { [old.publicKey.fingerprint]: { role: 'deployer', apps: [] } } }),
    ]) {
      writeFileSync(`${path}.swarmlet-roles`, bad);
      warnings.length = 0;
      expect(await file.keys()).toEqual([]);
      expect(warnings).toEqual([expect.stringMatching(/key roles file .* no key can log in until it is fixed$/)]);
      await expect(readAuthorizedKeys(path)).rejects.toThrow(KeyRolesFileError);
      await expect(addAuthorizedKey(path, await makeKey(`legacy-new-${bad.length}`))).rejects.toThrow(
        KeyRolesFileError,
      );
    }
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(1);
  }, 120_000);
});

describe('key operations', () => {
  it('adds, lists and removes keys, atomically with mode 0600, keeping the other lines', async () => {
    const path = join(dir, 'ops', 'authorized_keys');
    const alice = await makeKey('ops-alice');
    const bob = await makeKey('ops-bob', 'rsa');
    const added = await addAuthorizedKey(path, `${alice}\n`);
    expect(added.line).toBe(1);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const withBob = await addAuthorizedKey(path, bob, 'bob (work laptop)');
    expect(withBob).toMatchObject({ line: 2, comment: 'bob (work laptop)' });
    writeFileSync(path, `${readFileSync(path, 'utf8')}# kept comment\nnot a key\n`, { mode: 0o600 });

    const listed = await readAuthorizedKeys(path);
    expect(listed.keys.map((key) => [key.publicKey.fingerprint, key.comment])).toEqual([
      [await fingerprint(alice), 'ops-alice@laptop'],
      [await fingerprint(bob), 'bob (work laptop)'],
    ]);
    expect(listed.problems.map((problem) => problem.line)).toEqual([4]);

    await expect(addAuthorizedKey(path, alice.replace('ops-alice@laptop', 'again'))).rejects.toThrow(
      /is already authorized \(line 1, ops-alice@laptop\)/,
    );
    await expect(addAuthorizedKey(path, 'ssh-ed25519 nope')).rejects.toThrow(AuthorizedKeysError);
    await expect(addAuthorizedKey(path, `${alice}\n${bob}`)).rejects.toThrow('expected one public key line, got 2');

    const removed = await removeAuthorizedKey(path, 'bob (work laptop)');
    expect(removed.map((key) => key.comment)).toEqual(['bob (work laptop)']);
    await removeAuthorizedKey(path, await fingerprint(alice));
    expect(readFileSync(path, 'utf8')).toBe('# kept comment\nnot a key\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await expect(removeAuthorizedKey(path, 'SHA256:nothing')).rejects.toThrow('no authorized key has the fingerprint');
    expect(readdirSync(join(dir, 'ops'))).toEqual(['authorized_keys', 'authorized_keys.swarmlet-roles']);
    expect(JSON.parse(readFileSync(join(dir, 'ops', 'authorized_keys.swarmlet-roles'), 'utf8'))).toEqual({
      version: 1,
      keys: {},
    });
  }, 120_000);

  it('refuses to remove by a comment that names different keys', async () => {
    const path = join(dir, 'ambiguous');
    await addAuthorizedKey(path, await makeKey('amb-1'), 'laptop');
    await addAuthorizedKey(path, await makeKey('amb-2'), 'laptop');
    await expect(removeAuthorizedKey(path, 'laptop')).rejects.toThrow(/2 keys have the comment laptop/);
  });
});

describe('AuthorizedKeysFile', () => {
  it('rereads the file when it changes, warns about bad lines and a missing file', async () => {
    const path = join(dir, 'watched');
    const warnings: string[] = [];
    const file = new AuthorizedKeysFile(path, (message) => warnings.push(message));
    expect(await file.keys()).toEqual([]);
    expect(warnings).toEqual([`${path} does not exist: no key can log in`]);

    const alice = await makeKey('watch-alice');
    await addAuthorizedKey(path, alice);
    const [first] = await file.keys();
    expect(first?.comment).toBe('watch-alice@laptop');
    expect(await file.find(first?.publicKey.blob ?? Buffer.alloc(0))).toBe(first);

    writeFileSync(path, `garbage line\n${await makeKey('watch-bob')}\n`);
    expect((await file.keys()).map((key) => key.comment)).toEqual(['watch-bob@laptop']);
    expect(await file.find(first?.publicKey.blob ?? Buffer.alloc(0))).toBeUndefined();
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toMatch(/watched line 1: /);
    await file.keys();
    expect(warnings).toHaveLength(2);
  });
});
