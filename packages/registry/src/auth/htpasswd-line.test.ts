import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { htpasswdLine } from './htpasswd-line.js';
import { loadHtpasswd } from '@swarmlet/common';

describe('htpasswdLine', () => {
  it('makes a bcrypt entry from the first line of the input that the registry accepts', async () => {
    const line = await htpasswdLine('admin', 's3cret pass\n');
    expect(line).toMatch(/^admin:\$2[aby]\$10\$/);
    const file = join(mkdtempSync(join(tmpdir(), 'swarmlet-htpasswd-')), 'htpasswd');
    writeFileSync(file, `${line}\n`);
    const htpasswd = loadHtpasswd(file);
    expect(await htpasswd.verify('admin', 's3cret pass')).toBe(true);
    expect(await htpasswd.verify('admin', 's3cret pass\n')).toBe(false);
  });

  it('refuses a bad user name, an empty password and one bcrypt would cut', async () => {
    await expect(htpasswdLine('ad:min', 'pw')).rejects.toThrow(/invalid user name/);
    await expect(htpasswdLine('admin', '\n')).rejects.toThrow(/empty password/);
    await expect(htpasswdLine('admin', 'x'.repeat(73))).rejects.toThrow(/72 bytes/);
  });
});
