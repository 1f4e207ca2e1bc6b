import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { HOST_KEY_FILE, loadOrCreateHostKey } from './host-key.js';

describe('loadOrCreateHostKey', () => {
  it('generates an Ed25519 key once, mode 0600, that OpenSSH reads, and reuses it', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'swarmlet-hostkey-')), 'ssh');
    const first = await loadOrCreateHostKey(dir);
    expect(first.created).toBe(true);
    expect(first.path).toBe(join(dir, HOST_KEY_FILE));
    expect(statSync(first.path).mode & 0o777).toBe(0o600);
    const { stdout: derived } = await execa('ssh-keygen', ['-y', '-f', first.path]);
    expect(derived.split(' ').slice(0, 2).join(' ')).toBe(first.publicKey);
    expect(readFileSync(`${first.path}.pub`, 'utf8')).toBe(`${first.publicKey}\n`);
    const { stdout: listed } = await execa('ssh-keygen', ['-l', '-f', `${first.path}.pub`]);
    expect(listed.split(' ')[1]).toBe(first.fingerprint);

    chmodSync(first.path, 0o644);
    const again = await loadOrCreateHostKey(dir);
    expect(again).toEqual({ ...first, created: false });
    expect(statSync(first.path).mode & 0o777).toBe(0o600);
  });

  it('gives two processes starting at once the same key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlet-hostkey-'));
    const keys = await Promise.all([loadOrCreateHostKey(dir), loadOrCreateHostKey(dir), loadOrCreateHostKey(dir)]);
    expect(new Set(keys.map((key) => key.privateKey)).size).toBe(1);
    expect(keys.filter((key) => key.created)).toHaveLength(1);
  });

  it('names a file that holds no private key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlet-hostkey-'));
    writeFileSync(join(dir, HOST_KEY_FILE), 'not a key\n', { mode: 0o600 });
    await expect(loadOrCreateHostKey(dir)).rejects.toThrow(
      `${join(dir, HOST_KEY_FILE)} holds no usable SSH private key`,
    );
  });
});
