import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadHtpasswd } from '@swarmlet/common';
import { ensurePlatformUser } from './platform-user.js';

describe('ensurePlatformUser', () => {
  it('makes a password once (0600) and an htpasswd entry that checks it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlet-platform-user-'));
    const first = await ensurePlatformUser(dir, 'admin', undefined);
    expect(first.passwordFile).toBe(join(dir, 'dashboard-password'));
    expect(statSync(first.passwordFile).mode & 0o777).toBe(0o600);
    expect(statSync(first.htpasswdFile).mode & 0o777).toBe(0o600);
    const password = readFileSync(first.passwordFile, 'utf8').trim();
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    await ensurePlatformUser(dir, 'admin', undefined);
    expect(readFileSync(first.passwordFile, 'utf8').trim()).toBe(password);
    const htpasswd = loadHtpasswd(first.htpasswdFile);
    await expect(htpasswd.verify('admin', password)).resolves.toBe(true);
    await expect(htpasswd.verify('admin', 'something else')).resolves.toBe(false);
  });

  it('takes the password from SWARMLET_PASSWORD_FILE, and refuses an empty one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlet-platform-user-'));
    const given = join(dir, 'given');
    writeFileSync(given, 'chosen password\nsecond line\n');
    const user = await ensurePlatformUser(dir, 'ops', given);
    expect(user.passwordFile).toBe(given);
    await expect(loadHtpasswd(user.htpasswdFile).verify('ops', 'chosen password')).resolves.toBe(true);
    writeFileSync(given, '\n');
    await expect(ensurePlatformUser(dir, 'ops', given)).rejects.toThrow(/holds no password/);
  });
});
