import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { followProgress } from '@swarmlet/deployer';
import { ensureStandInImage, freePort, requireEngine, TEST_LABELS, waitFor } from '../support/docker.js';

/**
 * Proves the harness end to end: the real engine through dockerode, an image built from the busybox stand-in,
 * a swarm service publishing a host-mode port, its HTTP answer, and a cleanup of everything created.
 */
describe('harness smoke test', () => {
  const suffix = `${process.pid}-${Date.now()}`;
  const imageTag = `swarmlet-smoke:${suffix}`;
  const serviceName = `swarmlet-smoke-${suffix}`;
  const context = mkdtempSync(join(tmpdir(), 'swarmlet-smoke-'));
  let created: Docker | undefined;

  afterAll(async () => {
    rmSync(context, { recursive: true, force: true });
    const docker = created;
    if (!docker) return;
    await docker
      .getService(serviceName)
      .remove()
      .catch(() => undefined);
    await waitFor(
      'the smoke service containers to go',
      async () => {
        const containers = await docker.listContainers({
          all: true,
          filters: { label: [`com.docker.swarm.service.name=${serviceName}`] },
        });
        return containers.length === 0 ? true : undefined;
      },
      { timeoutMs: 30_000 },
    ).catch(() => undefined);
    await docker
      .getImage(imageTag)
      .remove({ force: true })
      .catch(() => undefined);
  });

  it('builds an image, runs it as a swarm service with a host-mode port, and reads its HTTP answer', async () => {
    const docker = await requireEngine();
    created = docker;
    const info = (await docker.info()) as { Swarm: { LocalNodeState: string; ControlAvailable: boolean } };
    expect(info.Swarm).toMatchObject({ LocalNodeState: 'active', ControlAvailable: true });

    await ensureStandInImage(docker, 'busybox');
    writeFileSync(join(context, 'index.html'), `hello from ${suffix}\n`);
    writeFileSync(
      join(context, 'Dockerfile'),
      'FROM busybox\nCOPY index.html /www/index.html\nEXPOSE 8080\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n',
    );
    const buildOutput: string[] = [];
    const build = await docker.buildImage(
      { context, src: ['Dockerfile', 'index.html'] },
      { t: imageTag, labels: TEST_LABELS },
    );
    await followProgress(build, 'build', imageTag, (message) => {
      if (message.stream) buildOutput.push(message.stream);
    });
    expect(buildOutput.join('')).toMatch(/Successfully tagged swarmlet-smoke:/);
    const image = await docker.getImage(imageTag).inspect();
    expect(image.Config.Labels).toMatchObject(TEST_LABELS);

    const port = await freePort();
    await docker.createService({
      Name: serviceName,
      Labels: TEST_LABELS,
      TaskTemplate: {
        ContainerSpec: { Image: imageTag, Labels: TEST_LABELS },
        RestartPolicy: { Condition: 'none' },
      },
      Mode: { Replicated: { Replicas: 1 } },
      EndpointSpec: { Ports: [{ Protocol: 'tcp', TargetPort: 8080, PublishedPort: port, PublishMode: 'host' }] },
    });

    await waitFor('the smoke task to run', async () => {
      const tasks = (await docker.listTasks({ filters: { service: [serviceName] } })) as {
        Status?: { State?: string; Err?: string };
      }[];
      const failed = tasks.find((task) => ['failed', 'rejected'].includes(task.Status?.State ?? ''));
      if (failed) throw new Error(`task ${failed.Status?.State ?? ''}: ${failed.Status?.Err ?? ''}`);
      return tasks.some((task) => task.Status?.State === 'running') ? true : undefined;
    });
    const body = await waitFor('the smoke service to answer HTTP', async () => {
      const response = await fetch(`http://127.0.0.1:${port}/`);
      return response.ok ? response.text() : undefined;
    });
    expect(body).toBe(`hello from ${suffix}\n`);
  });
});
