import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { execa } from 'execa';
import {
  buildProjectImage,
  ensureStandInImage,
  freePort,
  removeStack,
  repoRoot,
  requireEngine,
  TEST_LABELS,
  waitFor,
} from '../support/docker.js';
import { buildLayeredImage, dockerCli, writeHtpasswd, type DockerCli } from '../support/registries.js';
import { lockCoreSwarm } from '../support/swarm-lock.js';

function ignoreNotFound(error: unknown): void {
  if ((error as { statusCode?: number }).statusCode !== 404) throw error;
}

interface TaskSummary {
  Status?: { State?: string; Err?: string; Message?: string };
  DesiredState?: string;
  NodeID?: string;
}

/**
 * The registry as the platform runs it: the image built from the repository with `registry.Dockerfile`,
 * deployed as the core stack from `stacks/registry` with its port switched to host mode (no routing mesh here),
 * pinned by the node label, with htpasswd auth from a Docker secret.
 */
describe('registry core stack on the swarm', () => {
  const suffix = `${process.pid}-${Date.now()}`;
  const stack = `swarmlet-registry-test-${process.pid}`;
  const service = `${stack}_registry`;
  const imageVersion = `test-${suffix}`;
  const secretName = `swarmlet-test-htpasswd-${suffix}`;
  const network = `swarmlet-test-traefik-${process.pid}`;
  const password = `pw-${suffix}`;
  const work = mkdtempSync(join(tmpdir(), 'swarmlet-registry-stack-'));
  let docker: Docker | undefined;
  let cli: DockerCli | undefined;
  let nodeId = '';
  let port = 0;
  let releaseLock: (() => void) | undefined;

  const deployEnv = () => ({
    DOMAIN: 'example.test',
    SWARMLET_VERSION: imageVersion,
    REGISTRY_PUBLISHED_PORT: String(port),
    REGISTRY_HTPASSWD_SECRET: secretName,
    TRAEFIK_NETWORK: network,
  });

  const engine = (): Docker => {
    if (!docker) throw new Error('the Docker engine was not reached in beforeAll');
    return docker;
  };
  const client = (): DockerCli => {
    if (!cli) throw new Error('the docker CLI was not set up in beforeAll');
    return cli;
  };

  const tasks = async (): Promise<TaskSummary[]> =>
    (await engine().listTasks({ filters: { service: [service] } })) as TaskSummary[];

  beforeAll(async () => {
    releaseLock = await lockCoreSwarm();
    docker = await requireEngine();
    cli = dockerCli();
    nodeId = ((await docker.info()) as { Swarm: { NodeID: string } }).Swarm.NodeID;
    port = await freePort();
    await ensureStandInImage(docker, 'node');
    await buildProjectImage({
      dockerfile: 'registry',
      tag: `swarmlet.invalid/registry:${imageVersion}`,
      label: 'swarmlet.test=true',
    });
    const htpasswd = writeHtpasswd(join(work, 'htpasswd'), { admin: password });
    await execa('docker', ['secret', 'create', '--label', 'swarmlet.test=true', secretName, htpasswd]);
    await docker.createNetwork({ Name: network, Driver: 'overlay', Attachable: true, Labels: TEST_LABELS });
    await execa('docker', ['node', 'update', '--label-add', 'swarmlet.registry=true', nodeId]);
    await execa(
      'docker',
      [
        'stack',
        'deploy',
        '--resolve-image',
        'never',
        '-c',
        join(repoRoot, 'stacks/registry/docker-compose.yml'),
        '-c',
        join(repoRoot, 'test/e2e/fixtures/registry-host-port.yml'),
        stack,
      ],
      { env: deployEnv() },
    );
  }, 2_400_000);

  afterAll(async () => {
    cli?.dispose();
    rmSync(work, { recursive: true, force: true });
    if (!docker) {
      releaseLock?.();
      return;
    }
    const engine = docker;
    await removeStack(engine, stack);
    await execa('docker', ['node', 'update', '--label-rm', 'swarmlet.registry', nodeId], { reject: false });
    releaseLock?.();
    await waitFor(
      'the stack network and volume to be removable',
      async () => {
        await engine.getVolume(`${stack}_registry-data`).remove().catch(ignoreNotFound);
        await engine.getNetwork(network).remove().catch(ignoreNotFound);
        return true;
      },
      { timeoutMs: 30_000 },
    ).catch(() => undefined);
    await execa('docker', ['secret', 'rm', secretName], { reject: false });
    await engine
      .getImage(`swarmlet.invalid/registry:${imageVersion}`)
      .remove({ force: true })
      .catch(() => undefined);
  }, 180_000);

  it('converges to one running task on the labelled node, healthy', async () => {
    const running = await waitFor(
      'one running registry task',
      async () => {
        const list = await tasks();
        const failed = list.find((task) => task.Status?.State === 'failed' || task.Status?.State === 'rejected');
        if (failed) throw new Error(`task ${failed.Status?.State ?? ''}: ${failed.Status?.Err ?? ''}`);
        const up = list.filter((task) => task.Status?.State === 'running');
        return up.length === 1 ? up : undefined;
      },
      { timeoutMs: 120_000 },
    );
    expect(running[0]?.NodeID).toBe(nodeId);
    const containerId = await waitFor('a healthy registry container', async () => {
      const [container] = await engine().listContainers({
        filters: { label: [`com.docker.swarm.service.name=${service}`], health: ['healthy'] },
      });
      return container?.Id;
    });
    const info = await engine().getContainer(containerId).inspect();
    expect(info.Config.User).toBe('node');
  });

  it('carries the Traefik labels for registry.example.test and the ownership labels', async () => {
    const spec = (await engine().getService(service).inspect()) as {
      Spec: { Labels: Record<string, string> };
    };
    expect(spec.Spec.Labels).toMatchObject({
      'swarmlet.managed': 'true',
      'swarmlet.app': 'registry',
      'traefik.enable': 'true',
      'traefik.http.routers.registry.rule': 'Host(`registry.example.test`)',
      'traefik.http.routers.registry.tls.certresolver': 'letsencrypt',
      'traefik.http.services.registry.loadbalancer.server.port': '5000',
      'traefik.swarm.network': network,
    });
  });

  it('serves docker push and pull after docker login, and refuses them without', async () => {
    const images = engine();
    const registry = `127.0.0.1:${port}`;
    const dockerCommand = client();
    await waitFor('the registry to answer', async () => {
      const response = await fetch(`http://${registry}/v2/`);
      return response.status === 401 ? true : undefined;
    });
    const id = await buildLayeredImage(images, dockerCommand, `${registry}/stack/app:v1`);
    await expect(dockerCommand.run(['push', `${registry}/stack/app:v1`])).rejects.toThrow(
      /unauthorized|no basic auth|authentication required/i,
    );
    expect(await dockerCommand.run(['login', registry, '--username', 'admin', '--password-stdin'], password)).toMatch(
      /Login Succeeded/,
    );
    await dockerCommand.run(['push', `${registry}/stack/app:v1`]);
    await images.getImage(`${registry}/stack/app:v1`).remove({ force: true });
    await dockerCommand.run(['pull', `${registry}/stack/app:v1`]);
    expect((await images.getImage(`${registry}/stack/app:v1`).inspect()).Id).toBe(id);
    await images.getImage(`${registry}/stack/app:v1`).remove({ force: true });
  });

  it('does not start anywhere once the node label is gone', async () => {
    await execa('docker', ['node', 'update', '--label-rm', 'swarmlet.registry', nodeId]);
    await execa('docker', ['service', 'update', '--detach', '--force', service]);
    const pending = await waitFor(
      'the new task to wait for a suitable node',
      async () => {
        const list = await tasks();
        const current = list.filter((task) => task.DesiredState === 'running');
        const waiting = current.find((task) => task.Status?.State === 'pending');
        return waiting && !list.some((task) => task.Status?.State === 'running') ? waiting : undefined;
      },
      { timeoutMs: 90_000 },
    );
    expect(pending.Status?.Err ?? pending.Status?.Message ?? '').toMatch(/no suitable node|constraint/);
  });
});
