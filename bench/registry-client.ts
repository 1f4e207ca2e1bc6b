import { Agent, request } from 'node:http';
import { urlToHttpOptions } from 'node:url';
import { httpRequest, type HttpAnswer } from '../test/support/registries.js';
import { digestOf, seededBytes, seededChunks, seededDigest } from './seeded-data.js';

const IDLE_TIMEOUT_MS = 60_000;
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

/** A registry's answer with its (small) body. */
type Answer = HttpAnswer;

type Body = Buffer | Iterable<Buffer>;

/**
 * A minimal OCI Distribution client over keep-alive `node:http`, for the benchmark: each method does what a real
 * client does for one operation and rejects with the method, path, status and error body when the registry
 * answers anything but the status the specification requires. A socket idle for 60 s fails the request.
 */
export class RegistryClient {
  private readonly agent: Agent;
  private readonly base: URL;

  /** A client of the registry at `baseUrl` (`http://127.0.0.1:<port>`) with up to `maxSockets` connections. */
  constructor(baseUrl: string, maxSockets = 64) {
    this.base = new URL(baseUrl);
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  /**
   * Pushes a large blob as the docker CLI does: `POST` an upload, one streamed `PATCH` (chunked transfer encoding)
   * of `seededChunks(seed, size)`, then `PUT ?digest=`. `digest` is the content's digest, computed beforehand.
   */
  async pushStreamed(name: string, seed: string, size: number, digest: string): Promise<void> {
    const session = await this.startUpload(name);
    const patched = await this.send(
      'PATCH',
      session,
      { 'content-type': 'application/octet-stream' },
      seededChunks(seed, size),
    );
    expectStatus(patched, 202, 'PATCH', session);
    await this.commit(this.location(patched), digest);
  }

  /**
   * Pushes a blob in `chunkSize` pieces: `POST` an upload, one `PATCH` per piece with its `Content-Range` and
   * `Content-Length`, then an empty `PUT ?digest=`.
   */
  async pushChunked(name: string, seed: string, size: number, chunkSize: number, digest: string): Promise<void> {
    let session = await this.startUpload(name);
    let offset = 0;
    for (const chunk of seededChunks(seed, size, chunkSize)) {
      const headers = {
        'content-type': 'application/octet-stream',
        'content-range': `${offset}-${offset + chunk.length - 1}`,
        'content-length': String(chunk.length),
      };
      const patched = await this.send('PATCH', session, headers, chunk);
      expectStatus(patched, 202, 'PATCH', session);
      offset += chunk.length;
      session = this.location(patched);
    }
    await this.commit(session, digest);
  }

  /**
   * Pushes a small blob monolithically: `POST ?digest=` with the content. A registry that answers 202 instead of
   * 201 (allowed by the specification; the CNCF registry does) gets the content again in `PUT ?digest=`.
   * Resolves with the number of requests it took.
   */
  async pushSmall(name: string, content: Buffer): Promise<number> {
    const digest = digestOf(content);
    const url = new URL(`/v2/${name}/blobs/uploads/`, this.base);
    url.searchParams.set('digest', digest);
    const headers = { 'content-type': 'application/octet-stream', 'content-length': String(content.length) };
    const posted = await this.send('POST', url, headers, content);
    if (posted.status === 201) return 1;
    expectStatus(posted, 202, 'POST', url);
    const put = withDigest(this.location(posted), digest);
    expectStatus(await this.send('PUT', put, headers, content), 201, 'PUT', put);
    return 2;
  }

  /**
   * Pushes an image manifest (Docker schema 2) under `tag`, with a small config and one small layer pushed first.
   * Resolves with the manifest's digest.
   */
  async pushManifest(name: string, tag: string, seed: string): Promise<string> {
    return this.putManifest(name, tag, imageManifest(await this.pushImageBlobs(name, seed)));
  }

  /** Pushes the small config and layer of an image manifest (see {@link imageManifest}). */
  async pushImageBlobs(name: string, seed: string): Promise<ImageBlobs> {
    const layer = seededBytes(`${seed}/layer`, 4096);
    const config = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf(layer)] } }),
    );
    await this.pushSmall(name, layer);
    await this.pushSmall(name, config);
    return { config, layer };
  }

  /** `PUT`s a Docker schema 2 manifest under `reference` and resolves with its digest. */
  async putManifest(name: string, reference: string, manifest: Buffer): Promise<string> {
    const url = new URL(`/v2/${name}/manifests/${reference}`, this.base);
    const put = await this.send('PUT', url, { 'content-type': DOCKER_MANIFEST }, manifest);
    expectStatus(put, 201, 'PUT', url);
    return digestOf(manifest);
  }

  /** `GET` (or `HEAD`) a manifest by tag or digest and check the answer's `Docker-Content-Digest`. */
  async fetchManifest(method: 'GET' | 'HEAD', name: string, reference: string, digest: string): Promise<void> {
    const url = new URL(`/v2/${name}/manifests/${reference}`, this.base);
    const answer = await this.send(method, url, { accept: DOCKER_MANIFEST });
    expectStatus(answer, 200, method, url);
    if (answer.headers['docker-content-digest'] !== digest) {
      throw new Error(
        `${method} ${url.pathname}: Docker-Content-Digest ${String(answer.headers['docker-content-digest'])}`,
      );
    }
  }

  /** Streams a blob through and checks its length and `Docker-Content-Digest`; no more than a socket buffer is held. */
  pull(name: string, digest: string, size: number): Promise<void> {
    const url = new URL(`/v2/${name}/blobs/${digest}`, this.base);
    return new Promise((resolve, reject) => {
      const get = request(url, { agent: this.agent, timeout: IDLE_TIMEOUT_MS });
      get.once('timeout', () => get.destroy(new Error(`GET ${url.pathname} timed out`)));
      get.once('error', reject);
      get.once('response', (response) => {
        let received = 0;
        response.on('data', (chunk: Buffer) => {
          received += chunk.length;
        });
        response.once('error', reject);
        response.once('end', () => {
          if (
            response.statusCode !== 200 ||
            received !== size ||
            response.headers['docker-content-digest'] !== digest
          ) {
            reject(new Error(`GET ${url.pathname}: ${response.statusCode ?? '?'} with ${received} of ${size} bytes`));
          } else resolve();
        });
      });
      get.end();
    });
  }

  /** Closes the client's idle connections. */
  close(): void {
    this.agent.destroy();
  }

  private async startUpload(name: string): Promise<URL> {
    const url = new URL(`/v2/${name}/blobs/uploads/`, this.base);
    const answer = await this.send('POST', url, {});
    expectStatus(answer, 202, 'POST', url);
    return this.location(answer);
  }

  private async commit(session: URL, digest: string): Promise<void> {
    const url = withDigest(session, digest);
    const answer = await this.send('PUT', url, { 'content-length': '0' });
    expectStatus(answer, 201, 'PUT', url);
    if (answer.headers['docker-content-digest'] !== digest) throw new Error(`PUT ${url.pathname}: wrong digest`);
  }

  private location(answer: Answer): URL {
    const location = answer.headers.location;
    if (location === undefined) throw new Error(`a ${answer.status} answer without Location`);
    return new URL(location, this.base);
  }

  private send(method: string, url: URL, headers: Record<string, string>, body?: Body): Promise<Answer> {
    const options = { ...urlToHttpOptions(url), method, headers, agent: this.agent, timeout: IDLE_TIMEOUT_MS };
    return httpRequest(options, body);
  }
}

/** The config and layer of a small image. */
export interface ImageBlobs {
  config: Buffer;
  layer: Buffer;
}

/** A Docker schema 2 manifest of `blobs`; a `label` makes manifests of the same blobs distinct. */
export function imageManifest({ config, layer }: ImageBlobs, label?: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: {
        mediaType: 'application/vnd.docker.container.image.v1+json',
        size: config.length,
        digest: digestOf(config),
      },
      layers: [
        { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: layer.length, digest: digestOf(layer) },
      ],
      ...(label !== undefined && { annotations: { 'org.opencontainers.image.ref.name': label } }),
    }),
  );
}

/** The size and digest of the seeded content a scenario pushes, computed once outside any timing. */
export function seededBlob(seed: string, size: number): { seed: string; size: number; digest: string } {
  return { seed, size, digest: seededDigest(seed, size) };
}

function withDigest(location: URL, digest: string): URL {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  return url;
}

function expectStatus(answer: Answer, status: number, method: string, url: URL): void {
  if (answer.status !== status) {
    const body = answer.body.toString('utf8').slice(0, 500);
    throw new Error(`${method} ${url.pathname} answered ${answer.status} instead of ${status}: ${body}`);
  }
}
