import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { createRegistryApp } from './app.js';
import { loadRegistryConfig } from './config.js';

type Agent = ReturnType<typeof request>;

const sha256 = (content: Buffer | string): string => `sha256:${createHash('sha256').update(content).digest('hex')}`;

function registry(options: { deleteEnabled?: boolean } = {}): { http: Agent; root: string } {
  const root = mkdtempSync(join(tmpdir(), 'swarmlet-api-'));
  const config = loadRegistryConfig(
    { storage: { filesystem: { rootdirectory: root }, delete: { enabled: options.deleteEnabled ?? false } } },
    {},
  );
  return { http: request(createRegistryApp(config).callback()), root };
}

async function pushBlob(http: Agent, name: string, content: Buffer | string): Promise<string> {
  const digest = sha256(content);
  const response = await http
    .post(`/v2/${name}/blobs/uploads/?digest=${digest}`)
    .set('Content-Type', 'application/octet-stream')
    .send(Buffer.from(content));
  expect(response.status).toBe(201);
  return digest;
}

async function pushImage(http: Agent, name: string, tag: string, marker = 'x') {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', marker }));
  const layer = Buffer.from(`layer of ${marker}`);
  const configDigest = await pushBlob(http, name, config);
  const layerDigest = await pushBlob(http, name, layer);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: configDigest },
    layers: [
      { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: layer.length, digest: layerDigest },
    ],
  });
  const response = await putManifest(http, name, tag, manifest, 'application/vnd.docker.distribution.manifest.v2+json');
  expect(response.status).toBe(201);
  return { manifest, digest: sha256(manifest), configDigest, layerDigest };
}

function putManifest(http: Agent, name: string, reference: string, body: string, type: string) {
  return http.put(`/v2/${name}/manifests/${reference}`).set('Content-Type', type).send(body);
}

function errorCode(response: { body: unknown }): string | undefined {
  return (response.body as { errors?: { code: string }[] }).errors?.[0]?.code;
}

describe('base and routing', () => {
  const { http } = registry();

  it('answers /v2/ with the API version header', async () => {
    const response = await http.get('/v2/');
    expect(response.status).toBe(200);
    expect(response.headers['docker-distribution-api-version']).toBe('registry/2.0');
  });

  it('answers an unknown path 404 and a wrong method 405, as spec errors', async () => {
    const missing = await http.get('/v2/app/unknown/thing/');
    expect(missing.status).toBe(404);
    expect(errorCode(missing)).toBe('NOT_FOUND');
    const wrongMethod = await http.post('/v2/app/tags/list');
    expect(wrongMethod.status).toBe(405);
    expect(errorCode(wrongMethod)).toBe('UNSUPPORTED');
  });

  it.each(['Upper/case', 'a/../b', 'a//b', '-a', 'a/.hidden', 'a'.repeat(256), 'a%2Fb'])(
    'refuses the repository name %# with NAME_INVALID',
    async (name) => {
      const response = await http.get(`/v2/${name}/tags/list`);
      expect(response.status).toBe(400);
      expect(errorCode(response)).toBe('NAME_INVALID');
    },
  );

  it.each(['sha256:totallywrong', 'sha256:ABCDEF', 'md5:0123', 'nonsense', `sha256:${'a'.repeat(63)}`])(
    'refuses the digest %s with DIGEST_INVALID',
    async (digest) => {
      const response = await http.get(`/v2/app/blobs/${digest}`);
      expect(response.status).toBe(400);
      expect(errorCode(response)).toBe('DIGEST_INVALID');
    },
  );
});

describe('blobs', () => {
  it('takes a monolithic upload and serves it with HEAD, GET and Range', async () => {
    const { http } = registry();
    const content = 'hello, registry';
    const digest = sha256(content);
    const upload = await http.post(`/v2/app/blobs/uploads/?digest=${digest}`).send(Buffer.from(content));
    expect(upload.status).toBe(201);
    expect(upload.headers.location).toBe(`/v2/app/blobs/${digest}`);
    expect(upload.headers['docker-content-digest']).toBe(digest);

    const head = await http.head(`/v2/app/blobs/${digest}`);
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(content.length));
    expect(head.headers['docker-content-digest']).toBe(digest);

    const get = await http.get(`/v2/app/blobs/${digest}`).buffer(true);
    expect(get.status).toBe(200);
    expect(Buffer.from(get.body as Buffer).toString()).toBe(content);

    const partial = await http.get(`/v2/app/blobs/${digest}`).set('Range', 'bytes=7-14').buffer(true);
    expect(partial.status).toBe(206);
    expect(partial.headers['content-range']).toBe(`bytes 7-14/${content.length}`);
    expect(Buffer.from(partial.body as Buffer).toString()).toBe('registry');

    const suffix = await http.get(`/v2/app/blobs/${digest}`).set('Range', 'bytes=-3').buffer(true);
    expect(Buffer.from(suffix.body as Buffer).toString()).toBe('try');

    const unsatisfiable = await http.get(`/v2/app/blobs/${digest}`).set('Range', 'bytes=100-200');
    expect(unsatisfiable.status).toBe(416);
    expect(unsatisfiable.headers['content-range']).toBe(`bytes */${content.length}`);
    const malformed = await http.get(`/v2/app/blobs/${digest}`).set('Range', 'bytes=a-b');
    expect(malformed.status).toBe(416);
  });

  it('takes concurrent pushes of the same blob, to one repository and to two', async () => {
    const { http } = registry();
    const content = Buffer.alloc(3 * 1024 * 1024, 'concurrent');
    const digest = sha256(content);
    const pushes = ['one', 'one', 'two', 'two', 'one'].map(async (name) => {
      const location = (await http.post(`/v2/${name}/blobs/uploads/`)).headers.location ?? '';
      await http.patch(location).send(content.subarray(0, 1024 * 1024));
      return http.put(`${location}?digest=${digest}`).send(content.subarray(1024 * 1024));
    });
    expect((await Promise.all(pushes)).map((response) => response.status)).toEqual([201, 201, 201, 201, 201]);
    for (const name of ['one', 'two']) {
      const get = await http.get(`/v2/${name}/blobs/${digest}`).buffer(true);
      expect(sha256(get.body as Buffer)).toBe(digest);
    }
  });

  it('keeps blobs per repository', async () => {
    const { http } = registry();
    const digest = await pushBlob(http, 'one', 'shared?');
    const other = await http.get(`/v2/two/blobs/${digest}`);
    expect(other.status).toBe(404);
    expect(errorCode(other)).toBe('BLOB_UNKNOWN');
  });

  it('refuses a monolithic upload whose content has another digest, and keeps nothing', async () => {
    const { http, root } = registry();
    const response = await http.post(`/v2/app/blobs/uploads/?digest=${sha256('other')}`).send(Buffer.from('content'));
    expect(response.status).toBe(400);
    expect(errorCode(response)).toBe('DIGEST_INVALID');
    expect(readdirSync(join(root, 'docker/registry/v2/repositories/app/_uploads'))).toEqual([]);
    expect(existsSync(join(root, 'docker/registry/v2/blobs'))).toBe(false);
  });

  it('takes POST then PUT with the whole blob', async () => {
    const { http } = registry();
    const start = await http.post('/v2/app/blobs/uploads/');
    expect(start.status).toBe(202);
    expect(start.headers.location).toMatch(/^\/v2\/app\/blobs\/uploads\/[0-9a-f-]{36}$/);
    expect(start.headers.range).toBe('0-0');
    expect(start.headers['docker-upload-uuid']).toBe(start.headers.location?.split('/').at(-1));
    const digest = sha256('whole');
    const done = await http.put(`${start.headers.location}?digest=${digest}`).send(Buffer.from('whole'));
    expect(done.status).toBe(201);
    expect((await http.head(`/v2/app/blobs/${digest}`)).status).toBe(200);
  });

  it('takes chunks with Content-Range, refuses out-of-order and repeated ones with the current Range', async () => {
    const { http } = registry();
    const location = (await http.post('/v2/app/blobs/uploads/')).headers.location ?? '';
    const first = await http.patch(location).set('Content-Range', '0-4').send(Buffer.from('01234'));
    expect(first.status).toBe(202);
    expect(first.headers.range).toBe('0-4');
    expect(first.headers.location).toBe(location);

    const repeated = await http.patch(location).set('Content-Range', '0-4').send(Buffer.from('01234'));
    expect(repeated.status).toBe(416);
    expect(repeated.headers.range).toBe('0-4');
    const gap = await http.patch(location).set('Content-Range', '7-9').send(Buffer.from('789'));
    expect(gap.status).toBe(416);
    const inconsistent = await http.patch(location).set('Content-Range', '5-9').send(Buffer.from('56'));
    expect(inconsistent.status).toBe(416);

    const status = await http.get(location);
    expect(status.status).toBe(204);
    expect(status.headers.range).toBe('0-4');
    expect(status.headers.location).toBe(location);

    const streamed = await http.patch(location).send(Buffer.from('56789'));
    expect(streamed.status).toBe(202);
    expect(streamed.headers.range).toBe('0-9');

    const digest = sha256('0123456789abc');
    expect((await http.head(`/v2/app/blobs/${digest}`)).status).toBe(404);
    const done = await http.put(`${location}?digest=${digest}`).set('Content-Range', '10-12').send(Buffer.from('abc'));
    expect(done.status).toBe(201);
    const get = await http.get(`/v2/app/blobs/${digest}`).buffer(true);
    expect(Buffer.from(get.body as Buffer).toString()).toBe('0123456789abc');
    expect((await http.get(location)).status).toBe(404);
  });

  it('cancels an upload with DELETE and refuses unknown upload ids', async () => {
    const { http } = registry();
    const location = (await http.post('/v2/app/blobs/uploads/')).headers.location ?? '';
    expect((await http.delete(location)).status).toBe(204);
    const gone = await http.get(location);
    expect(gone.status).toBe(404);
    expect(errorCode(gone)).toBe('BLOB_UPLOAD_UNKNOWN');
    expect((await http.patch('/v2/app/blobs/uploads/../../etc').send('x')).status).toBe(404);
    expect(errorCode(await http.get('/v2/app/blobs/uploads/not-a-uuid'))).toBe('BLOB_UPLOAD_UNKNOWN');
  });

  it('refuses completion without a digest or with a wrong one, cancelling the upload', async () => {
    const { http } = registry();
    const location = (await http.post('/v2/app/blobs/uploads/')).headers.location ?? '';
    await http.patch(location).send(Buffer.from('data'));
    expect(errorCode(await http.put(location))).toBe('DIGEST_INVALID');
    const wrong = await http.put(`${location}?digest=${sha256('not the data')}`);
    expect(wrong.status).toBe(400);
    expect(errorCode(wrong)).toBe('DIGEST_INVALID');
    expect((await http.get(location)).status).toBe(404);
  });

  it('mounts a blob from another repository, or starts an upload when it is not there', async () => {
    const { http } = registry();
    const digest = await pushBlob(http, 'source', 'mount me');
    const mounted = await http.post(`/v2/target/blobs/uploads/?mount=${digest}&from=source`);
    expect(mounted.status).toBe(201);
    expect(mounted.headers['docker-content-digest']).toBe(digest);
    expect((await http.head(`/v2/target/blobs/${digest}`)).status).toBe(200);
    const missing = await http.post(`/v2/target/blobs/uploads/?mount=${sha256('absent')}&from=source`);
    expect(missing.status).toBe(202);
    expect(missing.headers.location).toMatch(/^\/v2\/target\/blobs\/uploads\//);
  });

  it('deletes a blob from a repository only when deletes are enabled', async () => {
    const disabled = registry();
    const digest = await pushBlob(disabled.http, 'app', 'keep');
    const refused = await disabled.http.delete(`/v2/app/blobs/${digest}`);
    expect(refused.status).toBe(405);
    expect(errorCode(refused)).toBe('UNSUPPORTED');

    const enabled = registry({ deleteEnabled: true });
    const removable = await pushBlob(enabled.http, 'app', 'remove');
    expect((await enabled.http.delete(`/v2/app/blobs/${removable}`)).status).toBe(202);
    expect((await enabled.http.head(`/v2/app/blobs/${removable}`)).status).toBe(404);
  });
});

describe('manifests', () => {
  it('stores an image manifest by tag and serves it by tag and digest', async () => {
    const { http } = registry();
    const image = await pushImage(http, 'team/app', 'v1');
    for (const reference of ['v1', image.digest]) {
      const get = await http
        .get(`/v2/team/app/manifests/${reference}`)
        .buffer(true)
        .parse((res, done) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
          });
          res.on('end', () => {
            done(null, Buffer.concat(chunks));
          });
        });
      expect(get.status).toBe(200);
      expect(get.headers['content-type']).toBe('application/vnd.docker.distribution.manifest.v2+json');
      expect(get.headers['docker-content-digest']).toBe(image.digest);
      expect((get.body as Buffer).toString()).toBe(image.manifest);
    }
    const head = await http.head('/v2/team/app/manifests/v1');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(Buffer.byteLength(image.manifest)));
    expect(head.headers['docker-content-digest']).toBe(image.digest);
  });

  it('answers an unknown manifest with MANIFEST_UNKNOWN', async () => {
    const { http } = registry();
    const response = await http.get('/v2/app/manifests/latest');
    expect(response.status).toBe(404);
    expect(errorCode(response)).toBe('MANIFEST_UNKNOWN');
  });

  it('says what is wrong with a reference: neither tag nor digest, or a malformed digest', async () => {
    const { http } = registry({ deleteEnabled: true });
    const image = await pushImage(http, 'app', 'v1');
    for (const reference of ['.INVALID_MANIFEST_NAME', '-dash', 'a'.repeat(129), 'sp%20ace']) {
      const get = await http.get(`/v2/app/manifests/${reference}`);
      expect([get.status, errorCode(get)]).toEqual([404, 'MANIFEST_UNKNOWN']);
      expect(JSON.stringify(get.body)).toContain('neither a tag');
      expect((await http.head(`/v2/app/manifests/${reference}`)).status).toBe(404);
      const deleted = await http.delete(`/v2/app/manifests/${reference}`);
      expect([deleted.status, errorCode(deleted)]).toEqual([404, 'MANIFEST_UNKNOWN']);
      const put = await putManifest(http, 'app', reference, image.manifest, 'application/json');
      expect([put.status, errorCode(put)]).toEqual([400, 'TAG_INVALID']);
    }
    for (const reference of ['sha256:abc', 'md5:0123', `sha256:${'A'.repeat(64)}`]) {
      const get = await http.get(`/v2/app/manifests/${reference}`);
      expect([get.status, errorCode(get)]).toEqual([400, 'DIGEST_INVALID']);
      expect(JSON.stringify(get.body)).toContain('invalid digest');
    }
    expect((await http.get(`/v2/app/manifests/${image.digest}`)).status).toBe(200);
  });

  it('refuses references to missing blobs, invalid JSON, schema 1 and a wrong digest', async () => {
    const { http } = registry();
    const missing = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: 2, digest: sha256('{}') },
      layers: [],
    });
    const blobUnknown = await putManifest(http, 'app', 'v1', missing, 'application/vnd.oci.image.manifest.v1+json');
    expect(blobUnknown.status).toBe(400);
    expect(errorCode(blobUnknown)).toBe('MANIFEST_BLOB_UNKNOWN');

    const notJson = await putManifest(http, 'app', 'v1', '{not json', 'application/vnd.oci.image.manifest.v1+json');
    expect(errorCode(notJson)).toBe('MANIFEST_INVALID');

    const schema1 = await putManifest(
      http,
      'app',
      'v1',
      JSON.stringify({ schemaVersion: 1, name: 'app', tag: 'v1', fsLayers: [] }),
      'application/vnd.docker.distribution.manifest.v1+prettyjws',
    );
    expect(schema1.status).toBe(400);
    expect(JSON.stringify(schema1.body)).toMatch(/schema 1 is not supported/);

    await pushBlob(http, 'app', '{}');
    const wrongDigest = await putManifest(
      http,
      'app',
      sha256('other'),
      missing,
      'application/vnd.oci.image.manifest.v1+json',
    );
    expect(wrongDigest.status).toBe(400);
    expect(errorCode(wrongDigest)).toBe('DIGEST_INVALID');
    const byDigest = await putManifest(
      http,
      'app',
      sha256(missing),
      missing,
      'application/vnd.oci.image.manifest.v1+json',
    );
    expect(byDigest.status).toBe(201);

    const mismatch = await putManifest(
      http,
      'app',
      'v2',
      missing,
      'application/vnd.docker.distribution.manifest.v2+json',
    );
    expect(errorCode(mismatch)).toBe('MANIFEST_INVALID');
    const badTag = await putManifest(http, 'app', '-bad', missing, 'application/vnd.oci.image.manifest.v1+json');
    expect(badTag.status).toBe(400);
  });

  it('refuses an oversized manifest with 413', async () => {
    const { http } = registry();
    const huge = JSON.stringify({ schemaVersion: 2, padding: 'x'.repeat(5 * 1024 * 1024) });
    const response = await putManifest(http, 'app', 'big', huge, 'application/vnd.oci.image.manifest.v1+json');
    expect(response.status).toBe(413);
  });

  it('stores an index only when its manifests exist, and negotiates on Accept', async () => {
    const { http } = registry();
    const amd64 = await pushImage(http, 'multi', 'amd64', 'amd64');
    const arm64 = await pushImage(http, 'multi', 'arm64', 'arm64');
    const entry = (digest: string, manifest: string, architecture: string) => ({
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      size: Buffer.byteLength(manifest),
      digest,
      platform: { architecture, os: 'linux' },
    });
    const list = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
      manifests: [entry(arm64.digest, arm64.manifest, 'arm64'), entry(amd64.digest, amd64.manifest, 'amd64')],
    });
    const listType = 'application/vnd.docker.distribution.manifest.list.v2+json';
    const unknownChild = list.replace(arm64.digest, sha256('nothing'));
    expect(errorCode(await putManifest(http, 'multi', 'latest', unknownChild, listType))).toBe('MANIFEST_BLOB_UNKNOWN');
    expect((await putManifest(http, 'multi', 'latest', list, listType)).status).toBe(201);

    const asList = await http
      .get('/v2/multi/manifests/latest')
      .set('Accept', `${listType}, application/vnd.docker.distribution.manifest.v2+json`);
    expect(asList.headers['docker-content-digest']).toBe(sha256(list));
    const legacy = await http
      .get('/v2/multi/manifests/latest')
      .set('Accept', 'application/vnd.docker.distribution.manifest.v2+json');
    expect(legacy.headers['docker-content-digest']).toBe(amd64.digest);
    expect(legacy.headers['content-type']).toBe('application/vnd.docker.distribution.manifest.v2+json');
  });

  it('answers a manifest with a subject with OCI-Subject and lists it as a referrer', async () => {
    const { http } = registry();
    const image = await pushImage(http, 'app', 'v1');
    const empty = await pushBlob(http, 'app', '{}');
    const signature = await pushBlob(http, 'app', 'signature bytes');
    const artifact = (artifactType: string, layer: string) =>
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        artifactType,
        config: { mediaType: 'application/vnd.oci.empty.v1+json', size: 2, digest: empty },
        layers: [{ mediaType: 'application/octet-stream', size: 15, digest: layer }],
        subject: {
          mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
          size: Buffer.byteLength(image.manifest),
          digest: image.digest,
        },
        annotations: { 'org.example.kind': artifactType },
      });
    const sig = artifact('application/vnd.example.signature', signature);
    const sbom = artifact('application/vnd.example.sbom', signature);
    const ociType = 'application/vnd.oci.image.manifest.v1+json';
    const put = await putManifest(http, 'app', sha256(sig), sig, ociType);
    expect(put.status).toBe(201);
    expect(put.headers['oci-subject']).toBe(image.digest);
    expect((await putManifest(http, 'app', sha256(sbom), sbom, ociType)).status).toBe(201);

    const all = await http.get(`/v2/app/referrers/${image.digest}`);
    expect(all.status).toBe(200);
    expect(all.headers['content-type']).toMatch(/^application\/vnd\.oci\.image\.index\.v1\+json/);
    expect(all.headers['oci-filters-applied']).toBeUndefined();
    const body = all.body as {
      manifests: { digest: string; artifactType: string; size: number; annotations: unknown }[];
    };
    expect(body.manifests.map((entry) => entry.digest).sort()).toEqual([sha256(sig), sha256(sbom)].sort());
    expect(body.manifests.find((entry) => entry.digest === sha256(sig))).toEqual({
      mediaType: ociType,
      digest: sha256(sig),
      size: Buffer.byteLength(sig),
      artifactType: 'application/vnd.example.signature',
      annotations: { 'org.example.kind': 'application/vnd.example.signature' },
    });

    const filtered = await http.get(`/v2/app/referrers/${image.digest}?artifactType=application/vnd.example.sbom`);
    expect(filtered.headers['oci-filters-applied']).toBe('artifactType');
    expect((filtered.body as { manifests: { digest: string }[] }).manifests.map((entry) => entry.digest)).toEqual([
      sha256(sbom),
    ]);

    const unknown = await http.get(`/v2/app/referrers/${sha256('nobody')}`);
    expect(unknown.status).toBe(200);
    expect(unknown.body).toEqual({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [],
    });
    expect(errorCode(await http.get('/v2/app/referrers/sha256:bad'))).toBe('DIGEST_INVALID');
  });

  it('deletes by digest (with its tags) and by tag only when deletes are enabled', async () => {
    const disabled = registry();
    const kept = await pushImage(disabled.http, 'app', 'v1');
    expect((await disabled.http.delete(`/v2/app/manifests/${kept.digest}`)).status).toBe(405);

    const { http } = registry({ deleteEnabled: true });
    const image = await pushImage(http, 'app', 'v1');
    await putManifest(http, 'app', 'v2', image.manifest, 'application/vnd.docker.distribution.manifest.v2+json');
    const other = await pushImage(http, 'app', 'other', 'other');
    expect((await http.delete('/v2/app/manifests/other')).status).toBe(202);
    expect((await http.get('/v2/app/manifests/other')).status).toBe(404);
    expect((await http.get(`/v2/app/manifests/${other.digest}`)).status).toBe(200);

    expect((await http.delete(`/v2/app/manifests/${image.digest}`)).status).toBe(202);
    expect((await http.get(`/v2/app/manifests/${image.digest}`)).status).toBe(404);
    expect((await http.get('/v2/app/manifests/v1')).status).toBe(404);
    expect((await http.get('/v2/app/tags/list')).body).toEqual({ name: 'app', tags: [] });
    expect((await http.delete(`/v2/app/manifests/${image.digest}`)).status).toBe(404);
  });
});

describe('tags and catalog', () => {
  it('lists tags sorted, with n/last pagination and a Link header', async () => {
    const { http } = registry();
    const image = await pushImage(http, 'app', 'c');
    for (const tag of ['a', 'b', 'd']) {
      await putManifest(http, 'app', tag, image.manifest, 'application/vnd.docker.distribution.manifest.v2+json');
    }
    expect((await http.get('/v2/app/tags/list')).body).toEqual({ name: 'app', tags: ['a', 'b', 'c', 'd'] });
    const first = await http.get('/v2/app/tags/list?n=2');
    expect(first.body).toEqual({ name: 'app', tags: ['a', 'b'] });
    expect(first.headers.link).toBe('</v2/app/tags/list?n=2&last=b>; rel="next"');
    const second = await http.get('/v2/app/tags/list?n=2&last=b');
    expect(second.body).toEqual({ name: 'app', tags: ['c', 'd'] });
    expect(second.headers.link).toBeUndefined();
    for (const n of ['-1', 'abc', '1.5']) {
      expect(errorCode(await http.get(`/v2/app/tags/list?n=${n}`))).toBe('PAGINATION_NUMBER_INVALID');
    }
    const unknown = await http.get('/v2/nothing/tags/list');
    expect(unknown.status).toBe(404);
    expect(errorCode(unknown)).toBe('NAME_UNKNOWN');
  });

  it('lists repositories with pagination', async () => {
    const { http } = registry();
    for (const name of ['b', 'a/x', 'a', 'a-b']) await pushImage(http, name, 'v1');
    expect((await http.get('/v2/_catalog')).body).toEqual({ repositories: ['a', 'a/x', 'a-b', 'b'] });
    const page = await http.get('/v2/_catalog?n=2');
    expect(page.body).toEqual({ repositories: ['a', 'a/x'] });
    expect(page.headers.link).toBe('</v2/_catalog?n=2&last=a%2Fx>; rel="next"');
    expect((await http.get('/v2/_catalog?n=2&last=a%2Fx')).body).toEqual({ repositories: ['a-b', 'b'] });
  });
});
