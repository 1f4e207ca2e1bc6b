import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { execa } from 'execa';
import { ensureStandInImage, requireEngine } from '../../../test/support/docker.js';
import { startSwarmletRegistry, type TestRegistry } from '../../../test/support/registries.js';
import type { DeployRecord } from './history.js';
import { releaseDroppedImages } from './retention.js';

const MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json';

/**
 * Releasing the images of dropped deploys against the real engine and our registry: only what no kept deploy uses,
 * by reference or by digest, and on the engine only the app's own images.
 */
describe('releaseDroppedImages', () => {
  const app = `ret-${process.pid}`;
  const work = mkdtempSync(join(tmpdir(), 'swarmlet-retention-'));
  let docker: Docker;
  let registry: TestRegistry;
  let repository = '';

  const build = async (tag: string, variant: string, owner: string) => {
    await execa(
      'docker',
      [
        'build',
        '-q',
        '-t',
        tag,
        '--label',
        'swarmlet.managed=true',
        '--label',
        `swarmlet.app=${owner}`,
        '--label',
        'swarmlet.test=true',
        '-',
      ],
      {
        input: `FROM busybox\nLABEL variant=${variant}-${process.pid}\n`,
      },
    );
  };
  const push = async (tag: string) => {
    await execa('docker', ['push', '-q', tag]);
    const head = await fetch(`${registry.url}/v2/${app}-web/manifests/${tag.slice(tag.lastIndexOf(':') + 1)}`, {
      method: 'HEAD',
      headers: { Accept: MANIFEST },
    });
    return head.headers.get('docker-content-digest') ?? '';
  };
  const record = (images: DeployRecord['images']): DeployRecord => ({
    id: '20250101T000000000Z-000000',
    app,
    commit: 'c',
    branch: 'master',
    status: 'succeeded',
    startedAt: new Date().toISOString(),
    steps: [],
    images,
  });
  const onEngine = (tag: string) =>
    docker
      .getImage(tag)
      .inspect()
      .then(
        () => true,
        () => false,
      );

  beforeAll(async () => {
    docker = await requireEngine();
    await ensureStandInImage(docker, 'busybox');
    mkdirSync(join(work, 'registry'));
    registry = await startSwarmletRegistry({ root: join(work, 'registry'), deleteEnabled: true, quiet: true });
    repository = `${registry.host}/${app}-web`;
  }, 120_000);

  afterAll(async () => {
    await registry.stop();
    for (const image of await docker.listImages({ filters: { label: [`swarmlet.app=${app}`] } })) {
      await docker
        .getImage(image.Id)
        .remove({ force: true })
        .catch(() => undefined);
    }
    await execa('docker', ['rmi', '-f', `${app}-other:n`], { reject: false });
    rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('removes the tags only dropped deploys used; spares kept references and digests and images not the app’s', async () => {
    await build(`${repository}:old`, 'old', app);
    await build(`${repository}:kept`, 'kept', app);
    await execa('docker', ['tag', `${repository}:kept`, `${repository}:same-digest`]);
    await build(`${app}-other:n`, 'other', 'another-app');
    const old = { service: 'web', reference: `${repository}:old`, digest: await push(`${repository}:old`) };
    const kept = { service: 'web', reference: `${repository}:kept`, digest: await push(`${repository}:kept`) };
    const same = {
      service: 'web',
      reference: `${repository}:same-digest`,
      digest: await push(`${repository}:same-digest`),
    };
    expect(same.digest).toBe(kept.digest);
    const foreign = { service: 'web', reference: `${app}-other:n`, digest: 'sha256:0' };

    const report = await releaseDroppedImages(
      docker,
      app,
      [record([old, same, foreign]), record([kept])],
      [record([kept])],
      {
        address: registry.host,
      },
    );

    expect(report).toEqual({ tags: [old.reference], images: [old.reference], failures: [] });
    const tags = (await (await fetch(`${registry.url}/v2/${app}-web/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags.sort()).toEqual(['kept', 'same-digest']);
    expect(await onEngine(old.reference)).toBe(false);
    expect(await onEngine(kept.reference)).toBe(true);
    expect(await onEngine(same.reference)).toBe(true);
    expect(await onEngine(foreign.reference)).toBe(true);
  }, 180_000);
});
