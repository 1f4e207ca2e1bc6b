import { execa } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import request from 'supertest';
import { createRegistryApp } from './app.js';
import { loadRegistryConfig } from './config.js';

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

  it('garbage-collect lists unreachable blobs in a dry run, then frees them', async () => {
    const root = mkdtempSync(join(tmpdir(), 'swarmlet-registry-gc-'));
    const http = request(
      createRegistryApp(loadRegistryConfig({ storage: { filesystem: { rootdirectory: root } } }, {})).callback(),
    );
    const orphan = Buffer.from('a layer whose manifest never came');
    const digest = `sha256:${createHash('sha256').update(orphan).digest('hex')}`;
    expect((await http.post(`/v2/app/blobs/uploads/?digest=${digest}`).send(orphan)).status).toBe(201);
    const env = { REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: root };

    const young = await execa('node', [main, 'garbage-collect', '--dry-run'], { env });
    expect(young.stdout).toContain('kept 1 unreachable blob(s) younger than the grace period');
    const dry = await execa('node', [main, 'garbage-collect', '--dry-run', '--grace', '0s'], { env });
    expect(dry.stdout).toContain(`would delete blob ${digest} (${orphan.length} bytes)`);
    expect((await http.head(`/v2/app/blobs/${digest}`)).status).toBe(200);
    const real = await execa('node', [main, 'garbage-collect', '--grace=0s'], { env });
    expect(real.stdout).toContain(`freed ${orphan.length} bytes: 1 blob(s), 0 manifest(s)`);
    expect((await http.head(`/v2/app/blobs/${digest}`)).status).toBe(404);

    const badGrace = await execa('node', [main, 'garbage-collect', '--grace', 'soon'], { env, reject: false });
    expect(badGrace.exitCode).toBe(1);
    expect(badGrace.stderr).toMatch(/invalid setting --grace/);
  });

  it('prints its usage for an unknown command or option', async () => {
    const option = await execa('node', [main, 'garbage-collect', '--purge-everything'], { reject: false });
    expect(option.exitCode).toBe(2);
    expect(option.stderr).toMatch(/usage: swarmlet-registry serve/);
    const result = await execa('node', [main, 'frobnicate'], { reject: false });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/usage: swarmlet-registry serve/);
  });
});
