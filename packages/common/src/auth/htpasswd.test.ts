import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import bcrypt from 'bcryptjs';
import { loadHtpasswd } from './htpasswd.js';
import { thrownConfigError as configError } from '../../../../test/support/capture.js';

const dir = mkdtempSync(join(tmpdir(), 'swarmlet-htpasswd-'));
let files = 0;

function htpasswdFile(text: string): string {
  files += 1;
  const path = join(dir, `htpasswd-${files}`);
  writeFileSync(path, text);
  return path;
}

function bcryptHash(password: string, prefix: '$2a$' | '$2b$' | '$2y$' = '$2y$'): string {
  return prefix + bcrypt.hashSync(password, 4).slice(4);
}

afterEach(() => {
  jest.restoreAllMocks();
});

describe('loadHtpasswd', () => {
  it('checks passwords of $2y$, $2a$ and $2b$ entries, skipping comments and blank lines', async () => {
    const path = htpasswdFile(
      [
        '# registry users',
        `alice:${bcryptHash('alice-secret', '$2y$')}`,
        '',
        `  bob:${bcryptHash('bob:secret', '$2a$')}  `,
        `carol:${bcryptHash('carol-secret', '$2b$')}\r`,
        '   # indented comment',
      ].join('\r\n'),
    );
    const htpasswd = loadHtpasswd(path);
    await expect(htpasswd.verify('alice', 'alice-secret')).resolves.toBe(true);
    await expect(htpasswd.verify('bob', 'bob:secret')).resolves.toBe(true);
    await expect(htpasswd.verify('carol', 'carol-secret')).resolves.toBe(true);
    await expect(htpasswd.verify('alice', 'bob:secret')).resolves.toBe(false);
    await expect(htpasswd.verify('alice', '')).resolves.toBe(false);
    await expect(htpasswd.verify('mallory', 'alice-secret')).resolves.toBe(false);
  });

  it('accepts an entry written by Apache htpasswd -B', async () => {
    const fromApache = 'apache:$2y$05$LjVBtmS4R/ixE.knmCl/1ectj8R5E1/7Ehc3kbTG9mBCUjpEIZynq';
    const htpasswd = loadHtpasswd(htpasswdFile(`${fromApache}\n`));
    await expect(htpasswd.verify('apache', 'from-apache2-utils')).resolves.toBe(true);
    await expect(htpasswd.verify('apache', 'from-apache2-util')).resolves.toBe(false);
  });

  it('refuses a plaintext line, naming the file, the line number and the bcrypt way, never the password', () => {
    const path = htpasswdFile(`# users\nalice:${bcryptHash('fine')}\n\nbob:hunter2-plain\n`);
    const error = configError(() => loadHtpasswd(path));
    expect(error.setting).toBe('auth.htpasswd.path');
    expect(error.message).toContain(`${path} line 4 (user bob)`);
    expect(error.message).toContain('htpasswd -B');
    expect(error.message).not.toContain('hunter2-plain');
  });

  it.each([
    ['SHA-1', 'alice:{SHA}lcsL/Sl3x2EpjZYk5LTUxyo5l0o=', /line 1 \(user alice\) uses SHA-1/],
    ['MD5', 'alice:$apr1$i9L00Xy6$7wAFmzOoqPcAg0Now3Mni1', /line 1 \(user alice\) uses MD5/],
    ['crypt', 'alice:96KyPjVvaV8iU', /line 1 \(user alice\) uses crypt or a plaintext password/],
    ['SHA-crypt', 'alice:$6$salt$0123456789abcdef', /line 1 \(user alice\) uses SHA-crypt/],
    ['a truncated bcrypt hash', 'alice:$2y$05$abcdefghijklmnopqrstuv', /line 1 \(user alice\) has a bcrypt hash/],
    ['a line without a colon', 'alice', /line 1 is not a user:hash entry/],
    ['an empty user', `:${bcryptHash('x')}`, /line 1 has an empty user name/],
  ])('refuses %s without repeating the hash', (_kind, line, problem) => {
    const error = configError(() => loadHtpasswd(htpasswdFile(`${line}\n`)));
    expect(error.setting).toBe('auth.htpasswd.path');
    expect(error.message).toMatch(problem);
    const secret = line.slice(line.indexOf(':') + 1);
    if (secret !== '' && line.includes(':')) expect(error.message).not.toContain(secret);
  });

  it('refuses a repeated user, a file without entries and a missing file', () => {
    const repeated = htpasswdFile(`alice:${bcryptHash('a')}\nalice:${bcryptHash('b')}\n`);
    expect(configError(() => loadHtpasswd(repeated)).message).toMatch(/line 2 repeats user alice/);
    const empty = htpasswdFile('# nobody yet\n\n');
    expect(configError(() => loadHtpasswd(empty)).message).toMatch(/has no user entry/);
    const missing = join(dir, 'missing');
    const error = configError(() => loadHtpasswd(missing));
    expect(error.setting).toBe('auth.htpasswd.path');
    expect(error.message).toContain(`cannot read the htpasswd file ${missing} (ENOENT)`);
  });

  it('bcrypt-compares a good credential once, however often and however concurrently it is presented', async () => {
    const htpasswd = loadHtpasswd(htpasswdFile(`alice:${bcryptHash('secret')}\n`));
    const compare = jest.spyOn(bcrypt, 'compare');
    const first = await Promise.all(Array.from({ length: 5 }, () => htpasswd.verify('alice', 'secret')));
    expect(first).toEqual([true, true, true, true, true]);
    await expect(htpasswd.verify('alice', 'secret')).resolves.toBe(true);
    expect(compare).toHaveBeenCalledTimes(1);
  });

  it('never remembers a failed credential', async () => {
    const htpasswd = loadHtpasswd(htpasswdFile(`alice:${bcryptHash('secret')}\n`));
    const compare = jest.spyOn(bcrypt, 'compare');
    await expect(htpasswd.verify('alice', 'wrong')).resolves.toBe(false);
    await expect(htpasswd.verify('alice', 'wrong')).resolves.toBe(false);
    await expect(htpasswd.verify('nobody', 'secret')).resolves.toBe(false);
    await expect(htpasswd.verify('nobody', 'secret')).resolves.toBe(false);
    expect(compare).toHaveBeenCalledTimes(4);
  });

  it('keys remembered credentials by user and password together', async () => {
    const htpasswd = loadHtpasswd(htpasswdFile(`a:${bcryptHash('b:c')}\n`));
    await expect(htpasswd.verify('a', 'b:c')).resolves.toBe(true);
    await expect(htpasswd.verify('a:b', 'c')).resolves.toBe(false);
    await expect(htpasswd.verify('a', 'b:c ')).resolves.toBe(false);
  });

  it('forgets the least recently used credential beyond the cache size', async () => {
    const users = ['u1', 'u2', 'u3'];
    const htpasswd = loadHtpasswd(htpasswdFile(users.map((user) => `${user}:${bcryptHash(user)}\n`).join('')), {
      cacheSize: 2,
    });
    const compare = jest.spyOn(bcrypt, 'compare');
    for (const user of ['u1', 'u2', 'u1', 'u3']) await htpasswd.verify(user, user);
    expect(compare).toHaveBeenCalledTimes(3);
    await htpasswd.verify('u1', 'u1');
    expect(compare).toHaveBeenCalledTimes(3);
    await htpasswd.verify('u2', 'u2');
    expect(compare).toHaveBeenCalledTimes(4);
  });
});
