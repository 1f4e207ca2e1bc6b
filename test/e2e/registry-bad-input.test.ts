import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { OutgoingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  httpRequest,
  startSwarmletRegistry,
  withRegistryOutput,
  writeHtpasswd,
  type TestRegistry,
} from '../support/registries.js';

const USER = 'tester';
const PASSWORD = 'bad-input-password';
const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

const sha256 = (content: Buffer | string): string => `sha256:${createHash('sha256').update(content).digest('hex')}`;

/** An answer: its status, headers and the code of its first spec error, if it has a body with one. */
interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  code: string | undefined;
  body: Buffer;
}

/** One bad request and the answer it must get. */
interface Case {
  method: string;
  path: string;
  headers?: OutgoingHttpHeaders;
  body?: Buffer | string;
  status: number;
  /** The spec error code; not checked for HEAD, whose answer has no body. */
  code: string;
}

/**
 * Every route of the API fed malformed input: names, references, digests, upload ids, `Range` and
 * `Content-Range`, manifest bodies (invalid JSON, the wrong shape, the wrong media type, oversized, truncated),
 * pagination parameters and credentials. Each gets the 4xx and spec error code the spec names for it, the
 * registry logs no error of its own, and it still takes a push and serves a pull afterwards. Runs against our
 * registry process with htpasswd auth and deletes enabled, so every check behind them is reached.
 */
describe('registry under bad input', () => {
  const root = mkdtempSync(join(tmpdir(), 'swarmlet-bad-input-'));
  let registry: TestRegistry;
  const image = imageOf('kept');
  let session = '';

  beforeAll(async () => {
    const htpasswd = writeHtpasswd(join(root, 'htpasswd'), { [USER]: PASSWORD });
    // Dozens of wrong credentials come from this one address: the login throttle (tested on its own) is set out of
    // the way, so each of them reaches the check this test is about.
    registry = await startSwarmletRegistry({
      root: join(root, 'data'),
      htpasswd,
      deleteEnabled: true,
      quiet: true,
      extraEnv: {
        REGISTRY_AUTH_HTPASSWD_THROTTLE_BURST: '10000',
        REGISTRY_AUTH_HTPASSWD_THROTTLE_ADDRESSBURST: '10000',
      },
    });
    await pushImage(registry, 'app', 'good', image);
    const started = await send(registry, 'POST', '/v2/app/blobs/uploads/');
    expect(started.status).toBe(202);
    session = String(started.headers['docker-upload-uuid']);
  });

  afterAll(async () => {
    await registry.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const routes = (name: string): [string, string][] => [
    ['GET', `/v2/${name}/manifests/good`],
    ['HEAD', `/v2/${name}/manifests/good`],
    ['PUT', `/v2/${name}/manifests/good`],
    ['DELETE', `/v2/${name}/manifests/good`],
    ['GET', `/v2/${name}/blobs/${image.layerDigest}`],
    ['HEAD', `/v2/${name}/blobs/${image.layerDigest}`],
    ['DELETE', `/v2/${name}/blobs/${image.layerDigest}`],
    ['POST', `/v2/${name}/blobs/uploads/`],
    ['GET', `/v2/${name}/blobs/uploads/3f1f7bc4-5c7e-4d0f-9a53-3c5a0e0b8d01`],
    ['PATCH', `/v2/${name}/blobs/uploads/3f1f7bc4-5c7e-4d0f-9a53-3c5a0e0b8d01`],
    ['PUT', `/v2/${name}/blobs/uploads/3f1f7bc4-5c7e-4d0f-9a53-3c5a0e0b8d01?digest=${image.layerDigest}`],
    ['DELETE', `/v2/${name}/blobs/uploads/3f1f7bc4-5c7e-4d0f-9a53-3c5a0e0b8d01`],
    ['GET', `/v2/${name}/tags/list`],
    ['GET', `/v2/${name}/referrers/${image.manifestDigest}`],
  ];

  const badNames = [
    'Upper',
    'a/../b',
    'a/./b',
    '-a',
    'a-',
    'a//b',
    'a/_layers',
    '%2e%2e/x',
    'a%2Fb',
    'a%zzb',
    'a%00b',
    'caf%C3%A9',
    'a'.repeat(256),
  ];

  it.each(badNames)('refuses the repository name %# on every route with NAME_INVALID', async (name) => {
    await expectAnswers(routes(name).map(([method, path]) => ({ method, path, status: 400, code: 'NAME_INVALID' })));
  });

  it('answers references that are neither tag nor digest, and malformed digests, with what was wrong', async () => {
    const cases: Case[] = [];
    for (const reference of ['.hidden', '-dash', 'a'.repeat(129), 'sp%20ace', 'tag%zz', '%00']) {
      for (const method of ['GET', 'HEAD', 'DELETE']) {
        cases.push({ method, path: `/v2/app/manifests/${reference}`, status: 404, code: 'MANIFEST_UNKNOWN' });
      }
      cases.push({
        method: 'PUT',
        path: `/v2/app/manifests/${reference}`,
        headers: { 'content-type': OCI_MANIFEST },
        body: image.manifest,
        status: 400,
        code: 'TAG_INVALID',
      });
    }
    const badDigests = [
      'sha256:abc',
      'sha256:',
      ':abc',
      `sha256:${'A'.repeat(64)}`,
      `sha256:${'a'.repeat(65)}`,
      `sha384:${'a'.repeat(96)}`,
      'md5:d41d8cd98f00b204e9800998ecf8427e',
      'sha256:%zz',
    ];
    for (const digest of badDigests) {
      for (const method of ['GET', 'HEAD', 'DELETE']) {
        cases.push({ method, path: `/v2/app/manifests/${digest}`, status: 400, code: 'DIGEST_INVALID' });
        cases.push({ method, path: `/v2/app/blobs/${digest}`, status: 400, code: 'DIGEST_INVALID' });
      }
      cases.push(
        { method: 'GET', path: `/v2/app/referrers/${digest}`, status: 400, code: 'DIGEST_INVALID' },
        {
          method: 'POST',
          path: `/v2/app/blobs/uploads/?digest=${digest}`,
          body: 'content',
          status: 400,
          code: 'DIGEST_INVALID',
        },
        {
          method: 'POST',
          path: `/v2/app/blobs/uploads/?mount=${digest}&from=app`,
          status: 400,
          code: 'DIGEST_INVALID',
        },
      );
    }
    await expectAnswers(cases);
  });

  it('refuses unknown, malformed and foreign upload ids, and completions without a valid digest', async () => {
    const cases: Case[] = [];
    for (const id of ['nope', '..%2F..%2Fx', '3f1f7bc4-5c7e-4d0f-9a53-3c5a0e0b8d01', session.toUpperCase(), '%zz']) {
      for (const method of ['GET', 'PATCH', 'DELETE']) {
        cases.push({ method, path: `/v2/app/blobs/uploads/${id}`, status: 404, code: 'BLOB_UPLOAD_UNKNOWN' });
      }
      cases.push({
        method: 'PUT',
        path: `/v2/app/blobs/uploads/${id}?digest=${image.layerDigest}`,
        status: 404,
        code: 'BLOB_UPLOAD_UNKNOWN',
      });
    }
    cases.push(
      { method: 'GET', path: `/v2/other/blobs/uploads/${session}`, status: 404, code: 'BLOB_UPLOAD_UNKNOWN' },
      { method: 'PUT', path: `/v2/app/blobs/uploads/${session}`, status: 400, code: 'DIGEST_INVALID' },
      {
        method: 'PUT',
        path: `/v2/app/blobs/uploads/${session}?digest=sha256:bad`,
        status: 400,
        code: 'DIGEST_INVALID',
      },
    );
    await expectAnswers(cases);
  });

  it('refuses malformed and unsatisfiable Range and Content-Range headers with RANGE_INVALID', async () => {
    const blob = `/v2/app/blobs/${image.layerDigest}`;
    const cases: Case[] = [
      'bytes=5-2',
      `bytes=${image.layer.length}-`,
      'bytes=-0',
      'chars=0-1',
      'bytes=0-1,3-4',
      'bytes=abc',
      'bytes=99999999999999999999-',
      'bytes=',
      'bytes=--1',
    ].map((range) => ({ method: 'GET', path: blob, headers: { range }, status: 416, code: 'RANGE_INVALID' }));
    const patch = await send(registry, 'POST', '/v2/app/blobs/uploads/');
    const location = String(patch.headers.location);
    for (const contentRange of ['nonsense', '5-2', '1-3', '0-99999999999999999', 'bytes=-1-2', '0-1-2']) {
      cases.push({
        method: 'PATCH',
        path: location,
        headers: { 'content-range': contentRange, 'content-type': 'application/octet-stream' },
        body: 'abc',
        status: 416,
        code: 'RANGE_INVALID',
      });
    }
    cases.push({
      method: 'PATCH',
      path: location,
      headers: { 'content-range': '0-9', 'content-type': 'application/octet-stream' },
      body: 'abc',
      status: 416,
      code: 'RANGE_INVALID',
    });
    await expectAnswers(cases);
  });

  it('refuses manifest bodies that are not JSON, of the wrong shape or media type, or too large', async () => {
    const descriptor = { mediaType: 'application/vnd.oci.image.config.v1+json', size: 2, digest: image.configDigest };
    const manifest = (fields: Record<string, unknown>): string =>
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptor, layers: [], ...fields });
    const invalid: [string, string | Buffer][] = [
      ['not JSON', '{"schemaVersion": 2,'],
      ['empty', ''],
      ['null', 'null'],
      ['a string', '"manifest"'],
      ['an array', '[]'],
      ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
      ['nested a million deep', `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`],
      ['no schemaVersion', JSON.stringify({ mediaType: OCI_MANIFEST, config: descriptor, layers: [] })],
      ['schemaVersion as a string', manifest({ schemaVersion: '2' })],
      ['layers not an array', manifest({ layers: { 0: descriptor } })],
      ['a layer not an object', manifest({ layers: ['sha256:abc'] })],
      ['a negative size', manifest({ config: { ...descriptor, size: -1 } })],
      ['a fractional size', manifest({ config: { ...descriptor, size: 1.5 } })],
      ['a huge size', manifest({ config: { ...descriptor, size: 2 ** 64 } })],
      ['a malformed digest', manifest({ config: { ...descriptor, digest: 'sha256:xyz' } })],
      ['a digest of another type', manifest({ config: { ...descriptor, digest: 42 } })],
      ['no config', JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [] })],
      ['annotations that are not strings', manifest({ annotations: { a: 1 } })],
      ['a subject that is not a descriptor', manifest({ subject: 'sha256:abc' })],
      ['an unknown media type', manifest({ mediaType: 'application/vnd.example+json' })],
      ['an index whose manifests are not an array', JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX })],
      ['schema 1', JSON.stringify({ schemaVersion: 1, name: 'app', tag: 'v1', fsLayers: [] })],
    ];
    const cases: Case[] = invalid.map(([, body]) => ({
      method: 'PUT',
      path: '/v2/app/manifests/bad',
      headers: { 'content-type': OCI_MANIFEST },
      body,
      status: 400,
      code: 'MANIFEST_INVALID',
    }));
    const valid = image.manifest.toString();
    cases.push(
      {
        method: 'PUT',
        path: '/v2/app/manifests/bad',
        headers: { 'content-type': 'text/plain' },
        body: valid,
        status: 400,
        code: 'MANIFEST_INVALID',
      },
      {
        method: 'PUT',
        path: '/v2/app/manifests/bad',
        headers: { 'content-type': OCI_INDEX },
        body: valid,
        status: 400,
        code: 'MANIFEST_INVALID',
      },
      {
        method: 'PUT',
        path: `/v2/app/manifests/${sha256('another body')}`,
        headers: { 'content-type': OCI_MANIFEST },
        body: valid,
        status: 400,
        code: 'DIGEST_INVALID',
      },
      {
        method: 'PUT',
        path: '/v2/app/manifests/bad',
        headers: { 'content-type': OCI_MANIFEST },
        body: manifest({ layers: [{ ...descriptor, digest: sha256('missing layer') }] }),
        status: 400,
        code: 'MANIFEST_BLOB_UNKNOWN',
      },
      {
        method: 'PUT',
        path: '/v2/app/manifests/bad',
        headers: { 'content-type': OCI_INDEX },
        body: JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: [{ mediaType: OCI_MANIFEST, size: 2, digest: sha256('missing manifest') }],
        }),
        status: 400,
        code: 'MANIFEST_BLOB_UNKNOWN',
      },
    );
    await expectAnswers(cases);
    const oversized = Buffer.alloc(4 * 1024 * 1024 + 64 * 1024, 0x20);
    const declared = await exchange(registry, 'PUT', '/v2/app/manifests/bad', [`Content-Length: ${5 * 1024 * 1024}`]);
    expect([declared.status, declared.code]).toEqual([413, 'MANIFEST_TOO_LARGE']);
    const chunked = await exchange(
      registry,
      'PUT',
      '/v2/app/manifests/bad',
      ['Transfer-Encoding: chunked'],
      Buffer.concat([Buffer.from(`${oversized.length.toString(16)}\r\n`), oversized, Buffer.from('\r\n')]),
    );
    expect([chunked.status, chunked.code]).toEqual([413, 'MANIFEST_TOO_LARGE']);
    expect((await send(registry, 'GET', '/v2/app/manifests/bad')).code).toBe('MANIFEST_UNKNOWN');
  });

  it('refuses blob bodies whose content has another digest', async () => {
    const started = await send(registry, 'POST', '/v2/app/blobs/uploads/');
    await expectAnswers([
      {
        method: 'POST',
        path: `/v2/app/blobs/uploads/?digest=${sha256('expected')}`,
        headers: { 'content-type': 'application/octet-stream' },
        body: 'actual',
        status: 400,
        code: 'DIGEST_INVALID',
      },
      {
        method: 'PUT',
        path: `${String(started.headers.location)}?digest=${sha256('expected')}`,
        headers: { 'content-type': 'application/octet-stream' },
        body: 'actual',
        status: 400,
        code: 'DIGEST_INVALID',
      },
    ]);
  });

  it('survives bodies cut short: a truncated manifest, blob PATCH and monolithic upload', async () => {
    const patch = await send(registry, 'POST', '/v2/app/blobs/uploads/');
    for (const [method, path] of [
      ['PUT', '/v2/app/manifests/truncated'],
      ['PATCH', String(patch.headers.location)],
      ['POST', `/v2/app/blobs/uploads/?digest=${sha256('x'.repeat(1000))}`],
      ['PUT', `${String(patch.headers.location)}?digest=${sha256('x'.repeat(1000))}`],
    ] as const) {
      await exchange(registry, method, path, ['Content-Length: 1000'], Buffer.alloc(100, 0x78), true);
    }
    const status = await send(registry, 'GET', String(patch.headers.location));
    expect(status.status === 204 || status.status === 404).toBe(true);
    expect((await send(registry, 'GET', '/v2/app/manifests/truncated')).code).toBe('MANIFEST_UNKNOWN');
  });

  it('refuses malformed pagination parameters with PAGINATION_NUMBER_INVALID', async () => {
    const cases: Case[] = [];
    for (const n of ['-1', 'abc', '1e3', '1.5', '99999999999', '', '%zz', '0x10', '10001']) {
      cases.push({
        method: 'GET',
        path: `/v2/app/tags/list?n=${n}`,
        status: 400,
        code: 'PAGINATION_NUMBER_INVALID',
      });
    }
    for (const n of ['-1', 'abc', '1001', '']) {
      cases.push({ method: 'GET', path: `/v2/_catalog?n=${n}`, status: 400, code: 'PAGINATION_NUMBER_INVALID' });
    }
    cases.push({ method: 'GET', path: '/v2/missing/tags/list?n=1&last=%zz', status: 404, code: 'NAME_UNKNOWN' });
    await expectAnswers(cases);
    for (const path of [
      '/v2/app/tags/list?n=1&n=2&last=%zz',
      '/v2/_catalog?last=%00&n=0',
      '/v2/app/tags/list?last=~',
    ]) {
      expect((await send(registry, 'GET', path)).status).toBe(200);
    }
  });

  it('refuses malformed, foreign and wrong credentials with UNAUTHORIZED and a challenge', async () => {
    const base64 = (text: string): string => Buffer.from(text).toString('base64');
    const headers = [
      'Basic',
      'Basic ',
      'Basic !!!',
      `Basic ${base64('nocolon')}`,
      `Basic ${base64(`:${PASSWORD}`)}`,
      `Basic ${base64(`${USER}:wrong`)}`,
      `Basic ${base64(`${USER}:`)}`,
      `Basic ${base64(`nobody:${PASSWORD}`)}`,
      `Basic ${Buffer.from([0xff, 0xfe, 0x3a, 0x00]).toString('base64')}`,
      `Basic ${base64(`${USER}:${'p'.repeat(6000)}`)}`,
      `Bearer ${base64(`${USER}:${PASSWORD}`)}`,
      `Digest username="${USER}"`,
      AUTH.toLowerCase(),
    ];
    const cases: Case[] = [];
    const everyRoute: [string, string][] = [
      ...routes('app'),
      ['GET', '/v2/'],
      ['GET', '/v2/_catalog'],
      ['GET', '/metrics'],
    ];
    for (const authorization of headers) {
      for (const [method, path] of everyRoute) {
        cases.push({ method, path, headers: { authorization }, status: 401, code: 'UNAUTHORIZED' });
      }
    }
    const answers = await expectAnswers(cases);
    for (const answer of answers) expect(answer.headers['www-authenticate']).toMatch(/^Basic realm="/);
  });

  it('answers unknown paths and methods as spec errors', async () => {
    await expectAnswers([
      { method: 'GET', path: '/v2/app', status: 404, code: 'NOT_FOUND' },
      { method: 'GET', path: '/v2/app/blobs/', status: 404, code: 'NOT_FOUND' },
      { method: 'GET', path: '/v2/../../etc/passwd', status: 404, code: 'NOT_FOUND' },
      { method: 'GET', path: '/%zz', status: 404, code: 'NOT_FOUND' },
      { method: 'POST', path: '/v2/app/manifests/good', status: 405, code: 'UNSUPPORTED' },
      { method: 'PATCH', path: `/v2/app/blobs/${image.layerDigest}`, status: 405, code: 'UNSUPPORTED' },
      { method: 'PUT', path: '/v2/app/tags/list', status: 405, code: 'UNSUPPORTED' },
      { method: 'DELETE', path: '/v2/_catalog', status: 405, code: 'UNSUPPORTED' },
    ]);
  });

  it('still takes a push and serves a pull afterwards, and logged no error of its own', async () => {
    const fresh = imageOf('after');
    await pushImage(registry, 'app/after', 'v1', fresh);
    const manifest = await send(registry, 'GET', '/v2/app/after/manifests/v1', { accept: OCI_MANIFEST });
    expect(manifest.status).toBe(200);
    expect(manifest.body.equals(fresh.manifest)).toBe(true);
    const layer = await send(registry, 'GET', `/v2/app/after/blobs/${fresh.layerDigest}`);
    expect(layer.status).toBe(200);
    expect(layer.body.equals(fresh.layer)).toBe(true);
    expect((await send(registry, 'GET', '/v2/app/manifests/good')).status).toBe(200);
    expect(registry.output()).not.toMatch(/"level":(50|60)/);
  });

  /** Sends every case and checks its status and code; resolves with the answers. */
  async function expectAnswers(cases: Case[]): Promise<Answer[]> {
    return withRegistryOutput([registry], async () => {
      const answers: Answer[] = [];
      for (const each of cases) {
        const answer = await send(registry, each.method, each.path, each.headers, each.body);
        const got = { status: answer.status, code: each.method === 'HEAD' ? each.code : answer.code };
        expect({ request: `${each.method} ${each.path.slice(0, 120)}`, ...got }).toEqual({
          request: `${each.method} ${each.path.slice(0, 120)}`,
          status: each.status,
          code: each.code,
        });
        answers.push(answer);
      }
      return answers;
    });
  }
});

/** A small image: a config, a layer of random bytes and their OCI manifest. */
function imageOf(marker: string) {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', marker }));
  const layer = randomBytes(64 * 1024);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: config.length, digest: sha256(config) },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', size: layer.length, digest: sha256(layer) }],
    }),
  );
  return {
    config,
    layer,
    manifest,
    configDigest: sha256(config),
    layerDigest: sha256(layer),
    manifestDigest: sha256(manifest),
  };
}

async function pushImage(registry: TestRegistry, name: string, tag: string, image: ReturnType<typeof imageOf>) {
  for (const blob of [image.config, image.layer]) {
    const pushed = await send(registry, 'POST', `/v2/${name}/blobs/uploads/?digest=${sha256(blob)}`, {}, blob);
    expect(pushed.status).toBe(201);
  }
  const put = await send(
    registry,
    'PUT',
    `/v2/${name}/manifests/${tag}`,
    { 'content-type': OCI_MANIFEST },
    image.manifest,
  );
  expect(put.status).toBe(201);
}

/**
 * One request with exactly these headers (credentials added unless given) on its own connection; a `Buffer` or
 * string body is sent with its `Content-Length` unless the headers ask for chunked encoding.
 */
async function send(
  registry: TestRegistry,
  method: string,
  path: string,
  headers: OutgoingHttpHeaders = {},
  body?: Buffer | string,
): Promise<Answer> {
  const options = {
    host: '127.0.0.1',
    port: new URL(registry.url).port,
    path,
    method,
    agent: false,
    timeout: 20_000,
    headers: { authorization: AUTH, ...headers },
  };
  const answer = await httpRequest(options, body);
  let code: string | undefined;
  try {
    code = (JSON.parse(answer.body.toString('utf8')) as { errors?: { code?: string }[] }).errors?.[0]?.code;
  } catch {
    code = undefined;
  }
  return { ...answer, code };
}

/**
 * Sends a request by hand on its own connection: the head with credentials, `Content-Type` and `extra` header
 * lines, then `body` as it is. With `hangUp`, closes the sending side and resolves once the registry closed the
 * connection (no answer is due to a request cut short); otherwise resolves with the answer's status and code as
 * soon as it is complete, without sending more.
 */
function exchange(
  registry: TestRegistry,
  method: string,
  path: string,
  extra: string[],
  body: Buffer = Buffer.alloc(0),
  hangUp = false,
): Promise<{ status: number; code: string | undefined }> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(registry.url).port), '127.0.0.1');
    socket.setTimeout(20_000, () => socket.destroy(new Error(`${method} ${path}: nothing within 20 s`)));
    let received = Buffer.alloc(0);
    const answer = (): { status: number; code: string | undefined } | undefined => {
      const text = received.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const length = /^content-length: *(\d+)$/im.exec(text.slice(0, end))?.[1];
      if (end < 0 || length === undefined || received.length < end + 4 + Number(length)) return undefined;
      const json = JSON.parse(text.slice(end + 4, end + 4 + Number(length))) as { errors?: { code?: string }[] };
      return { status: Number(text.split(' ')[1]), code: json.errors?.[0]?.code };
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const complete = hangUp ? undefined : answer();
      if (complete) {
        socket.destroy();
        resolve(complete);
      }
    });
    socket.once('error', reject);
    socket.once('close', () => {
      if (hangUp) resolve({ status: 0, code: undefined });
      else reject(new Error(`${method} ${path}: the connection closed without a complete answer`));
    });
    const head = [`${method} ${path} HTTP/1.1`, `Host: ${registry.host}`, `Authorization: ${AUTH}`];
    socket.write(
      Buffer.concat([Buffer.from([...head, `Content-Type: ${OCI_MANIFEST}`, ...extra, '', ''].join('\r\n')), body]),
    );
    if (hangUp) socket.end();
  });
}
