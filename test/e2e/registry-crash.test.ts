import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistryUnderTest, withRegistryOutput, type TestRegistry } from '../support/registries.js';

const MiB = 1024 * 1024;
const CHUNK = 4 * MiB;
const CHUNKS = 3;

/**
 * SIGKILL in the middle of a chunked upload: a blob is visible only once an upload completed, so after the crash
 * neither the API nor the storage root shows it, and the restarted registry takes the same content as a new
 * monolithic or chunked upload.
 */
describe('registry killed during a chunked upload', () => {
  const root = mkdtempSync(join(tmpdir(), 'swarmlet-registry-crash-'));
  const blob = randomBytes(CHUNK * CHUNKS);
  const hex = createHash('sha256').update(blob).digest('hex');
  const digest = `sha256:${hex}`;
  const started: TestRegistry[] = [];

  const start = async (): Promise<TestRegistry> => {
    const registry = await startRegistryUnderTest({ root });
    started.push(registry);
    return registry;
  };

  afterAll(async () => {
    for (const registry of started) await registry.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('shows no partial blob after the crash and stores the same content afterwards', async () => {
    const doomed = await start();
    await withRegistryOutput([doomed], async () => {
      const session = await startUpload(doomed, 'crash/layer');
      const first = await fetch(session, {
        method: 'PATCH',
        headers: chunkHeaders(0, CHUNK),
        body: blob.subarray(0, CHUNK),
      });
      expect(first.status).toBe(202);
      expect(first.headers.get('range')).toBe(`0-${CHUNK - 1}`);
      const next = uploadLocation(doomed, first);

      const inFlight = partialPatch(next, CHUNK, blob.subarray(CHUNK, 2 * CHUNK), CHUNK / 4);
      await inFlight.written;
      await doomed.kill();
      await inFlight.settled;
    });

    expect(pathsNaming(join(root, 'docker', 'registry', 'v2', 'blobs'), hex)).toEqual([]);
    expect(pathsNaming(join(root, 'docker', 'registry', 'v2', 'blobs'), 'data')).toEqual([]);
    expect(pathsNaming(join(root, 'docker', 'registry', 'v2', 'repositories'), hex)).toEqual([]);

    const registry = await start();
    await withRegistryOutput([registry], async () => {
      const unknown = await fetch(`${registry.url}/v2/crash/layer/blobs/${digest}`, { method: 'HEAD' });
      expect(unknown.status).toBe(404);
      expect(pathsNaming(join(root, 'docker', 'registry', 'v2', 'blobs'), hex)).toEqual([]);

      const monolithic = await startUpload(registry, 'crash/layer');
      const put = await fetch(withDigest(monolithic, digest), {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: blob,
      });
      expect(put.status).toBe(201);
      expect(put.headers.get('docker-content-digest')).toBe(digest);
      await expectBlob(registry, 'crash/layer');

      let chunked = await startUpload(registry, 'crash/chunked');
      for (let index = 0; index < CHUNKS; index += 1) {
        const patch = await fetch(chunked, {
          method: 'PATCH',
          headers: chunkHeaders(index * CHUNK, CHUNK),
          body: blob.subarray(index * CHUNK, (index + 1) * CHUNK),
        });
        expect(patch.status).toBe(202);
        expect(patch.headers.get('range')).toBe(`0-${(index + 1) * CHUNK - 1}`);
        chunked = uploadLocation(registry, patch);
      }
      const commit = await fetch(withDigest(chunked, digest), { method: 'PUT' });
      expect(commit.status).toBe(201);
      expect(commit.headers.get('docker-content-digest')).toBe(digest);
      await expectBlob(registry, 'crash/chunked');

      const stored = join(root, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
      expect(existsSync(stored) && statSync(stored).size).toBe(blob.length);
    });
  }, 120_000);

  async function expectBlob(registry: TestRegistry, name: string): Promise<void> {
    const head = await fetch(`${registry.url}/v2/${name}/blobs/${digest}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(blob.length));
    const get = await fetch(`${registry.url}/v2/${name}/blobs/${digest}`);
    expect(get.status).toBe(200);
    expect(
      createHash('sha256')
        .update(Buffer.from(await get.arrayBuffer()))
        .digest('hex'),
    ).toBe(hex);
  }
});

async function startUpload(registry: TestRegistry, name: string): Promise<URL> {
  const response = await fetch(`${registry.url}/v2/${name}/blobs/uploads/`, { method: 'POST' });
  expect(response.status).toBe(202);
  return uploadLocation(registry, response);
}

function uploadLocation(registry: TestRegistry, response: Response): URL {
  const location = response.headers.get('location');
  if (location === null) throw new Error(`${response.status} answer without a Location header`);
  return new URL(location, registry.url);
}

function withDigest(location: URL, digest: string): URL {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  return url;
}

function chunkHeaders(start: number, length: number): Record<string, string> {
  return {
    'content-type': 'application/octet-stream',
    'content-range': `${start}-${start + length - 1}`,
    'content-length': String(length),
  };
}

/**
 * Starts a PATCH of `chunk` at `offset` that sends only its first `sent` bytes. `written` resolves once those left
 * this process; `settled` resolves when the request ends in any way (an answer or a broken connection).
 */
function partialPatch(
  location: URL,
  offset: number,
  chunk: Buffer,
  sent: number,
): { written: Promise<void>; settled: Promise<void> } {
  const patch = request(location, { method: 'PATCH', agent: false, headers: chunkHeaders(offset, chunk.length) });
  const settled = new Promise<void>((resolve) => {
    patch.once('error', () => {
      resolve();
    });
    patch.once('response', (response) => {
      response.resume();
      response.once('close', resolve);
    });
  });
  const written = new Promise<void>((resolve, reject) => {
    patch.write(chunk.subarray(0, sent), (error) => {
      if (error) reject(error);
      else resolve();
    });
  });
  return { written, settled };
}

function pathsNaming(directory: string, part: string): string[] {
  if (!existsSync(directory)) return [];
  return readdirSync(directory, { recursive: true, encoding: 'utf8' }).filter((path) => path.includes(part));
}
