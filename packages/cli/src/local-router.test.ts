import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@swarmlet/common';
import { ensureOverlayNetwork } from '@swarmlet/deployer';
import type Docker from 'dockerode';
import { ensureStandInImage, freePort, removeStack, requireEngine } from '../../../test/support/docker.js';
import { startLocalRouter, type LocalRouterSettings } from './local-router.js';

interface RouterService {
  Spec: {
    TaskTemplate: { ContainerSpec: { Image: string; Args?: string[] }; Networks?: { Target: string }[] };
    EndpointSpec?: { Ports?: { TargetPort: number; PublishedPort: number; PublishMode: string }[] };
  };
}

/**
 * The router `npm start` runs, against the real engine. Traefik cannot be pulled on the test machines, so the
 * "image is here" case uses a stand-in tagged with a name of the test's own: the stack's spec is what is checked
 * (Traefik's labels are read, not served, here).
 */
describe('the local router', () => {
  const work = mkdtempSync(join(tmpdir(), 'swarmlet-local-router-'));
  const stack = `router-test-${process.pid}`;
  const repository = `swarmlet-test-traefik-${process.pid}`;
  const image = `${repository}:v1`;
  const network = `swarmlet-test-router-${process.pid}`;
  const log = createLogger({ name: 'test', level: 'error' });
  let docker: Docker;
  let settings: LocalRouterSettings;

  beforeAll(async () => {
    docker = await requireEngine();
    await docker.getImage(await ensureStandInImage(docker, 'busybox')).tag({ repo: repository, tag: 'v1' });
    expect(await ensureOverlayNetwork(docker, network)).toBe(true);
    expect(await ensureOverlayNetwork(docker, network)).toBe(false);
    settings = {
      wanted: 'local',
      image,
      httpPort: await freePort(),
      traefikNetwork: network,
      dataDir: work,
      path: process.env.PATH ?? '/usr/bin:/bin',
      stack,
    };
  }, 120_000);

  afterAll(async () => {
    await removeStack(docker, stack);
    await docker
      .getNetwork(network)
      .remove()
      .catch(() => undefined);
    await docker
      .getImage(image)
      .remove()
      .catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('runs Traefik on the HTTP port, on the router network, when its image is here', async () => {
    expect(await startLocalRouter(docker, settings, log)).toEqual({ kind: 'local', httpPort: settings.httpPort });
    const service = (await docker.getService(`${stack}_traefik`).inspect()) as RouterService;
    expect(service.Spec.TaskTemplate.ContainerSpec.Image).toBe(image);
    expect(service.Spec.TaskTemplate.ContainerSpec.Args).toEqual(
      expect.arrayContaining(['--entryPoints.web.address=:80', `--providers.swarm.network=${network}`]),
    );
    expect(service.Spec.EndpointSpec?.Ports).toEqual([
      expect.objectContaining({ TargetPort: 80, PublishedPort: settings.httpPort, PublishMode: 'host' }),
    ]);
    const { Id } = (await docker.getNetwork(network).inspect()) as { Id: string };
    expect(service.Spec.TaskTemplate.Networks?.map((entry) => entry.Target)).toContain(Id);
  }, 120_000);

  it('says there is no router when its image cannot be had, and when told not to run one', async () => {
    const missing = `swarmlet-test-no-such-image-${process.pid}:v1`;
    expect(await startLocalRouter(docker, { ...settings, image: missing, stack: `${stack}-x` }, log)).toEqual({
      kind: 'none',
    });
    expect(await startLocalRouter(docker, { ...settings, wanted: 'none', stack: `${stack}-y` }, log)).toEqual({
      kind: 'none',
    });
    const stacks = await docker.listServices({ filters: { label: [`com.docker.stack.namespace=${stack}-x`] } });
    expect(stacks).toEqual([]);
  }, 120_000);
});
