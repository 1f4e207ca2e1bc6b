import { createHash } from 'node:crypto';
import { mkdtempSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { createRegistryApp } from './app.js';
import { loadRegistryConfig } from './config.js';
import { garbageCollect, type GarbageCollectOptions } from './garbage-collect.js';
import { FilesystemDriver } from './storage/filesystem.js';
import { createStores } from './stores.js';

type Agent = ReturnType<typeof request>;

const sha256 = (content: string): string => `sha256:${createHash('sha256').update(content).digest('hex')}`;
const DOCKER_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

function setup() {
  const root = mkdtempSync(join(tmpdir(), 'swarmlet-gc-'));
  const config = loadRegistryConfig(
    { storage: { filesystem: { rootdirectory: root }, delete: { enabled: true } } },
    {},
  );
  const http = request(createRegistryApp(config).callback());
  const collect = (options: Partial<GarbageCollectOptions> = {}) =>
    garbageCollect(createStores(new FilesystemDriver(root)), {
      dryRun: false,
      deleteUntagged: false,
      gracePeriodMs: 0,
      now: new Date(Date.now() + 5000),
      ...options,
    });
  return { http, collect, root };
}

async function pushBlob(http: Agent, name: string, content: string): Promise<string> {
  const digest = sha256(content);
  expect((await http.post(`/v2/${name}/blobs/uploads/?digest=${digest}`).send(Buffer.from(content))).status).toBe(201);
  return digest;
}

async function pushImage(http: Agent, name: string, reference: string, layers: string[], config: string) {
  const descriptors = [];
  for (const layer of layers) {
    descriptors.push({
      mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
      size: layer.length,
      digest: await pushBlob(http, name, layer),
    });
  }
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: DOCKER_V2,
    config: {
      mediaType: 'application/vnd.docker.container.image.v1+json',
      size: config.length,
      digest: await pushBlob(http, name, config),
    },
    layers: descriptors,
  });
  const response = await http.put(`/v2/${name}/manifests/${reference}`).set('Content-Type', DOCKER_V2).send(manifest);
  expect(response.status).toBe(201);
  return { manifest, digest: sha256(manifest) };
}

/** Pushes an image as a client would; false when the registry refused the manifest for a missing blob. */
async function tryPushImage(
  http: Agent,
  name: string,
  tag: string,
  layers: string[],
  config: string,
): Promise<boolean> {
  const descriptors = [];
  for (const layer of [...layers, config]) {
    const digest = sha256(layer);
    if ((await http.head(`/v2/${name}/blobs/${digest}`)).status !== 200) await pushBlob(http, name, layer);
    descriptors.push({ mediaType: 'application/octet-stream', size: layer.length, digest });
  }
  const configDescriptor = descriptors.pop();
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: DOCKER_V2,
    config: configDescriptor,
    layers: descriptors,
  });
  const response = await http.put(`/v2/${name}/manifests/${tag}`).set('Content-Type', DOCKER_V2).send(manifest);
  if (
    response.status === 400 &&
    (response.body as { errors: { code: string }[] }).errors[0]?.code === 'MANIFEST_BLOB_UNKNOWN'
  ) {
    return false;
  }
  expect(response.status).toBe(201);
  return true;
}

async function pullable(http: Agent, name: string, reference: string): Promise<boolean> {
  const response = await http.get(`/v2/${name}/manifests/${reference}`).buffer(true);
  if (response.status !== 200) return false;
  const manifest = JSON.parse(response.text) as { config: { digest: string }; layers: { digest: string }[] };
  for (const digest of [manifest.config.digest, ...manifest.layers.map((layer) => layer.digest)]) {
    if ((await http.head(`/v2/${name}/blobs/${digest}`)).status !== 200) return false;
  }
  return true;
}

describe('garbageCollect', () => {
  it('lists exactly the unreachable blobs in a dry run, frees them in a real run, and keeps shared layers', async () => {
    const { http, collect } = setup();
    await pushImage(http, 'app', 'a', ['shared layer', 'only in a'], '{"image":"a"}');
    const b = await pushImage(http, 'app', 'b', ['shared layer', 'only in b'], '{"image":"b"}');
    expect((await http.delete(`/v2/app/manifests/${b.digest}`)).status).toBe(202);
    const expected = [sha256('only in b'), sha256('{"image":"b"}'), b.digest].sort();

    const dry = await collect({ dryRun: true });
    expect(dry.blobs.map((blob) => blob.digest).sort()).toEqual(expected);
    expect(dry.freedBytes).toBe('only in b'.length + '{"image":"b"}'.length + b.manifest.length);
    expect((await http.head(`/v2/app/blobs/${sha256('only in b')}`)).status).toBe(200);

    const real = await collect();
    expect(real.blobs.map((blob) => blob.digest).sort()).toEqual(expected);
    expect((await http.head(`/v2/app/blobs/${sha256('only in b')}`)).status).toBe(404);
    expect(await pullable(http, 'app', 'a')).toBe(true);
    expect((await collect()).blobs).toEqual([]);
  });

  it('keeps untagged manifests by default and removes them with deleteUntagged, except referrers and index entries', async () => {
    const { http, collect } = setup();
    const kept = await pushImage(http, 'app', 'keep', ['k'], '{"image":"keep"}');
    const untagged = await pushImage(http, 'app', 'gone', ['u'], '{"image":"untagged"}');
    expect((await http.delete('/v2/app/manifests/gone')).status).toBe(202);
    const child = await pushImage(http, 'app', 'child-tmp', ['c'], '{"image":"child"}');
    expect((await http.delete('/v2/app/manifests/child-tmp')).status).toBe(202);
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: DOCKER_V2,
          size: child.manifest.length,
          digest: child.digest,
          platform: { os: 'linux', architecture: 'amd64' },
        },
      ],
    });
    expect(
      (
        await http
          .put('/v2/app/manifests/multi')
          .set('Content-Type', 'application/vnd.oci.image.index.v1+json')
          .send(index)
      ).status,
    ).toBe(201);
    const empty = await pushBlob(http, 'app', '{}');
    const signature = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: 'application/vnd.example.signature',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', size: 2, digest: empty },
      layers: [{ mediaType: 'application/octet-stream', size: 3, digest: await pushBlob(http, 'app', 'sig') }],
      subject: { mediaType: DOCKER_V2, size: kept.manifest.length, digest: kept.digest },
    });
    expect(
      (
        await http
          .put(`/v2/app/manifests/${sha256(signature)}`)
          .set('Content-Type', OCI_MANIFEST)
          .send(signature)
      ).status,
    ).toBe(201);

    expect((await collect()).blobs).toEqual([]);
    expect((await http.get(`/v2/app/manifests/${untagged.digest}`)).status).toBe(200);

    const report = await collect({ deleteUntagged: true });
    expect(report.manifests).toEqual([{ repository: 'app', digest: untagged.digest }]);
    expect(report.blobs.map((blob) => blob.digest).sort()).toEqual(
      [sha256('u'), sha256('{"image":"untagged"}'), untagged.digest].sort(),
    );
    expect((await http.get(`/v2/app/manifests/${untagged.digest}`)).status).toBe(404);
    expect(await pullable(http, 'app', 'keep')).toBe(true);
    expect(await pullable(http, 'app', child.digest)).toBe(true);
    expect((await http.get(`/v2/app/manifests/${sha256(signature)}`)).status).toBe(200);
    expect((await http.head(`/v2/app/blobs/${sha256('sig')}`)).status).toBe(200);
  });

  it('keeps unreachable blobs younger than the grace period, and reports them', async () => {
    const { http, collect } = setup();
    const digest = await pushBlob(http, 'app', 'pushed a moment ago, manifest still to come');
    const report = await collect({ now: new Date(), gracePeriodMs: 60 * 60 * 1000 });
    expect(report.blobs).toEqual([]);
    expect(report.kept.map((blob) => blob.digest)).toEqual([digest]);
    expect((await http.head(`/v2/app/blobs/${digest}`)).status).toBe(200);
  });

  it('keeps a blob referenced after the run started, though nothing reaches it', async () => {
    const { http, collect, root } = setup();
    const digest = await pushBlob(http, 'app', 'uploaded long ago');
    const dataPath = join(root, 'docker/registry/v2/blobs/sha256', digest.slice(7, 9), digest.slice(7), 'data');
    const longAgo = new Date(Date.now() - 3_600_000);
    utimesSync(dataPath, longAgo, longAgo);
    const runStarted = new Date(Date.now() - 1000);
    expect((await http.post(`/v2/other/blobs/uploads/?mount=${digest}&from=app`)).status).toBe(201);
    const report = await collect({ now: runStarted });
    expect(report.kept.map((blob) => blob.digest)).toEqual([digest]);
    expect((await http.head(`/v2/other/blobs/${digest}`)).status).toBe(200);
    expect((await collect()).blobs.map((blob) => blob.digest)).toEqual([digest]);
  });

  it('never breaks an image accepted while collections run back to back', async () => {
    const { http, collect } = setup();
    const state = { pushing: true };
    const collections = (async () => {
      let runs = 0;
      while (state.pushing || runs < 2) {
        await collect({ now: new Date(), gracePeriodMs: 1000 });
        runs++;
      }
      return runs;
    })();
    const accepted: string[] = [];
    try {
      for (let index = 0; index < 12; index++) {
        const tag = `v${index}`;
        for (let attempt = 0; attempt < 10 && !accepted.includes(tag); attempt++) {
          if (await tryPushImage(http, 'busy', tag, ['common layer', `layer ${index}`], `{"build":${index}}`))
            accepted.push(tag);
        }
      }
    } finally {
      state.pushing = false;
    }
    expect(await collections).toBeGreaterThanOrEqual(2);
    expect(accepted).toHaveLength(12);
    for (const tag of accepted) expect(await pullable(http, 'busy', tag)).toBe(true);
  });
});
