import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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
    expect(added.stdout).toBe(`added ${fingerprint ?? ''} alice`);
    expect(readFileSync(file, 'utf8')).toBe(`# kept comment\n${publicKey.trim().replace(/ laptop$/, ' alice')}\n`);

    const again = await keys(['add'], publicKey);
    expect(again.exitCode).toBe(1);
    const garbage = await keys(['add'], 'ssh-ed25519 AAAAnot-a-key x\n');
    expect(garbage.exitCode).toBe(1);
    expect(garbage.stderr).toMatch(/^swarmlet: /);
    const listed = await keys(['list']);
    expect(listed.stdout).toBe(`${fingerprint ?? ''} ssh-ed25519 alice`);

    const missing = await keys(['remove', 'bob']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toBe('swarmlet: no authorized key has the comment bob');
    const removed = await keys(['remove', fingerprint ?? '']);
    expect(removed).toMatchObject({ exitCode: 0, stdout: `removed ${fingerprint ?? ''} alice` });
    expect(readFileSync(file, 'utf8')).toBe('# kept comment\n');
    expect((await keys(['list'])).stdout).toBe('');

    const usage = await keys(['rotate']);
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr).toContain('keys add [comment] < key.pub');
  });
});
