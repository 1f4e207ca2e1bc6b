import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeServer, listen } from '@swarmlet/common';
import { createRegistryApp } from '../app.js';
import { loadRegistryConfig } from '../config.js';
import { parseDigest } from '../digest.js';
import { blobDataPath } from '../paths.js';

/** A blob that spans several of the 1 MiB copy chunks, with a short last one. */
const content = randomBytes(5 * 1024 * 1024 + 12_345);
const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;

describe('serving blobs through pooled buffers', () => {
  let root: string;
  let server: Server;
  let base: string;
  const unexpected: unknown[] = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'swarmlet-blob-serving-'));
    const config = loadRegistryConfig({ storage: { filesystem: { rootdirectory: root } } }, {});
    const app = createRegistryApp(config, undefined, { onUnexpectedError: (error) => unexpected.push(error) });
    server = createServer(app.callback());
    await listen(server, { host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const pushed = await fetch(`${base}/v2/app/blobs/uploads/?digest=${digest}`, { method: 'POST', body: content });
    expect(pushed.status).toBe(201);
  });

  afterAll(async () => {
    await closeServer(server);
    rmSync(root, { recursive: true, force: true });
  });

  afterEach(() => {
    expect(unexpected.splice(0)).toEqual([]);
  });

  it('serves the whole blob and ranges across chunk boundaries byte for byte', async () => {
    const whole = await fetch(`${base}/v2/app/blobs/${digest}`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-length')).toBe(String(content.length));
    expect(Buffer.from(await whole.arrayBuffer()).equals(content)).toBe(true);
    for (const [start, end] of [
      [0, 0],
      [1024 * 1024 - 1, 1024 * 1024],
      [1_000_000, 3_500_000],
      [content.length - 7, content.length - 1],
    ] as const) {
      const part = await fetch(`${base}/v2/app/blobs/${digest}`, { headers: { range: `bytes=${start}-${end}` } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes ${start}-${end}/${content.length}`);
      expect(Buffer.from(await part.arrayBuffer()).equals(content.subarray(start, end + 1))).toBe(true);
    }
  });

  it('keeps serving after clients that hang up mid-body, without an error of its own', async () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      await new Promise<void>((resolve, reject) => {
        const request = get(`${base}/v2/app/blobs/${digest}`, (response) => {
          response.once('data', () => {
            request.destroy();
            resolve();
          });
        });
        request.once('error', (error) => {
          if (!request.destroyed) reject(error);
        });
      });
    }
    const after = await fetch(`${base}/v2/app/blobs/${digest}`);
    expect(Buffer.from(await after.arrayBuffer()).equals(content)).toBe(true);
  });

  it('answers BLOB_UNKNOWN, not a 500, when the content vanished after the link was checked', async () => {
    rmSync(join(root, blobDataPath(parseDigest(digest))));
    const response = await fetch(`${base}/v2/app/blobs/${digest}`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe('BLOB_UNKNOWN');
  });
});
