import { execa } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const main = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');

describe('swarmlet-registry (built entry point)', () => {
  it('serves /v2/ on the configured address and stops cleanly on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlet-registry-main-'));
    const configPath = join(dir, 'config.yml');
    writeFileSync(
      configPath,
      `version: 0.1\nhttp:\n  addr: 127.0.0.1:0\nstorage:\n  filesystem:\n    rootdirectory: ${dir}\n`,
    );
    const child = execa('node', [main, 'serve', configPath], { env: { REGISTRY_LOG_LEVEL: 'info' }, reject: false });
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        const match = /"port":(\d+)/.exec(chunk.toString());
        if (match) resolve(Number(match[1]));
      });
      void child.then(() => {
        reject(new Error('registry exited before listening'));
      });
    });
    const response = await fetch(`http://127.0.0.1:${port}/v2/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    child.kill('SIGTERM');
    const result = await child;
    expect(result.exitCode).toBe(0);
  });

  it('stops at start-up naming an invalid setting', async () => {
    const result = await execa('node', [main, 'serve'], { env: { REGISTRY_HTTP_ADDR: 'nowhere' }, reject: false });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^swarmlet-registry: invalid setting REGISTRY_HTTP_ADDR: /);
  });

  it('prints its usage for an unknown command', async () => {
    const result = await execa('node', [main, 'frobnicate'], { reject: false });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/usage: swarmlet-registry serve/);
  });
});
