import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { execa } from 'execa';
import { ensureStandInImage, removeStack, requireEngine, waitFor } from '../../../../test/support/docker.js';
import { waitForStack } from './converge.js';
import { deployStack } from './stack.js';

interface Task {
  ID: string;
  DesiredState?: string;
  Spec?: { ContainerSpec?: { Env?: string[] } };
  Status?: { State?: string };
}

/**
 * The platform deploying its own stack: the deployer service is updated start-first and its old task (the agent
 * answering that deploy) drains, ignoring SIGTERM until its pushers are answered. Swarm completes a start-first
 * update once the new task runs, without waiting for the old one to exit, so that deploy converges and ends.
 */
describe('waitForStack on a start-first update whose old task drains', () => {
  const stack = `swarmlet-self-${process.pid}`;
  const work = mkdtempSync(join(tmpdir(), 'swarmlet-self-'));
  let docker: Docker | undefined;

  const deploy = async (version: string): Promise<Date> => {
    const file = join(work, `${version}.yml`);
    writeFileSync(
      file,
      [
        'version: "3.8"',
        'services:',
        '  agent:',
        '    image: busybox:latest',
        // Stands in for an agent that drains: it outlives SIGTERM until swarm's grace period ends.
        `    command: ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"]`,
        `    environment: { VERSION: ${version} }`,
        '    stop_grace_period: 10m',
        '    deploy:',
        '      replicas: 1',
        '      update_config: { order: start-first, failure_action: rollback, monitor: 1s }',
        '      labels: { swarmlet.managed: "true", swarmlet.test: "true" }',
        '',
      ].join('\n'),
    );
    const since = new Date(Date.now() - 1000);
    await deployStack(
      {
        name: stack,
        composeFile: file,
        dockerConfig: work,
        resolveImage: 'never',
        env: { PATH: process.env.PATH ?? '' },
      },
      () => undefined,
    );
    return since;
  };

  const engine = (): Docker => {
    if (!docker) throw new Error('the Docker engine was not reached in beforeAll');
    return docker;
  };

  const tasks = async (): Promise<Task[]> =>
    (await engine().listTasks({ filters: { label: [`com.docker.stack.namespace=${stack}`] } })) as Task[];

  beforeAll(async () => {
    docker = await requireEngine();
    await ensureStandInImage(docker, 'busybox');
  }, 120_000);

  afterAll(async () => {
    await execa('docker', ['stack', 'rm', stack], { reject: false });
    const left =
      (await docker?.listContainers({ all: true, filters: { label: [`com.docker.stack.namespace=${stack}`] } })) ?? [];
    for (const container of left)
      await docker
        ?.getContainer(container.Id)
        .remove({ force: true })
        .catch(() => undefined);
    await removeStack(docker, stack);
    rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('ends once the new task runs, while the old one is still draining', async () => {
    const first = await deploy('v1');
    expect((await waitForStack(engine(), stack, { timeoutMs: 120_000, since: first }, () => undefined)).ok).toBe(true);
    const old = await waitFor('the running task', async () => {
      const running = (await tasks()).filter((task) => task.Status?.State === 'running');
      return running.length === 1 ? running[0] : undefined;
    });

    const second = await deploy('v2');
    const result = await waitForStack(engine(), stack, { timeoutMs: 120_000, since: second }, () => undefined);
    expect(result.ok).toBe(true);
    const now = await tasks();
    const running = now.filter((task) => task.DesiredState === 'running' && task.Status?.State === 'running');
    expect(running).toHaveLength(1);
    expect(running[0]?.ID).not.toBe(old.ID);
    expect(running[0]?.Spec?.ContainerSpec?.Env).toContain('VERSION=v2');
    expect(now.find((task) => task.ID === old.ID)).toMatchObject({
      DesiredState: 'shutdown',
      Status: { State: 'running' },
    });
  }, 300_000);
});
