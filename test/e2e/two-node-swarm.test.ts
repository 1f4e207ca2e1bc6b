import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureStandInImage, requireEngine, waitFor } from '../support/docker.js';
import {
  startTwoNodeSwarm,
  TWO_NODE_START_TIMEOUT_MS,
  twoNodeSwarmLeftovers,
  type TwoNodeSwarm,
} from '../support/two-node-swarm.js';

interface TaskInfo {
  NodeID: string;
  Status: { State: string };
  NetworksAttachments?: { Network: { Spec: { Name: string } }; Addresses: string[] }[];
}

/**
 * The test support's two-node swarm (test/support/two-node-swarm.ts): two real engines in their own network
 * namespaces form one swarm whose overlay network carries traffic between the nodes, and stopping it leaves
 * nothing behind.
 */
describe('two-node swarm (test support)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'swl2-'));
  const network = `probe-net-${process.pid}`;
  const service = `probe-${process.pid}`;
  let swarm: TwoNodeSwarm | undefined;

  beforeAll(async () => {
    const busybox = await ensureStandInImage(await requireEngine(), 'busybox');
    swarm = await startTwoNodeSwarm(dir);
    await swarm.load([busybox]);
  }, TWO_NODE_START_TIMEOUT_MS);

  afterAll(async () => {
    await swarm?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  const started = (): TwoNodeSwarm => {
    if (!swarm) throw new Error('the swarm did not start');
    return swarm;
  };

  it('has a manager and a worker, both Ready, under their own hostnames and addresses', async () => {
    const { manager } = started();
    const nodes = (await manager.docker.listNodes()) as {
      Spec: { Role: string };
      Description: { Hostname: string };
      Status: { State: string; Addr: string };
    }[];
    const seen = nodes.map((node) => [node.Description.Hostname, node.Spec.Role, node.Status.State, node.Status.Addr]);
    expect(seen.sort()).toEqual([
      ['swarmlet-n1', 'manager', 'ready', '10.98.6.1'],
      ['swarmlet-n2', 'worker', 'ready', '10.98.6.2'],
    ]);
  });

  it('runs a dnsrr service one task per node, each reachable over the overlay network from the other', async () => {
    const { manager, worker } = started();
    await manager.docker.createNetwork({ Name: network, Driver: 'overlay', Attachable: true });
    await manager.docker.createService({
      Name: service,
      TaskTemplate: {
        ContainerSpec: {
          Image: 'busybox:latest',
          Hostname: '{{.Node.Hostname}}',
          Command: ['nc', '-ll', '-p', '8080', '-e', 'hostname'],
        },
        Placement: { MaxReplicas: 1 },
        Networks: [{ Target: network }],
      },
      Mode: { Replicated: { Replicas: 2 } },
      EndpointSpec: { Mode: 'dnsrr' },
    });
    const tasks = await waitFor(
      'both tasks to run',
      async () => {
        const listed = (await manager.docker.listTasks({
          filters: { service: [service], 'desired-state': ['running'] },
        })) as TaskInfo[];
        const running = listed.filter((task) => task.Status.State === 'running');
        return running.length === 2 ? running : undefined;
      },
      { timeoutMs: 180_000 },
    );
    expect(new Set(tasks.map((task) => task.NodeID)).size).toBe(2);
    const addresses = tasks.map((task) => {
      const attachment = task.NetworksAttachments?.find((each) => each.Network.Spec.Name === network);
      return attachment?.Addresses[0]?.split('/')[0] ?? '';
    });

    const ask = (node: typeof manager, target: string) =>
      node.run(
        'docker',
        ['run', '--rm', '--network', network, 'busybox:latest', 'sh', '-c', 'nc -w 10 "$0" 8080 </dev/null', target],
        { reject: false },
      );
    const answers = [];
    for (const address of addresses) answers.push((await ask(manager, address)).stdout.trim());
    expect(answers.sort()).toEqual(['swarmlet-n1', 'swarmlet-n2']);
    const byName = await ask(worker, service);
    expect(byName.exitCode).toBe(0);
    expect(['swarmlet-n1', 'swarmlet-n2']).toContain(byName.stdout.trim());
  }, 300_000);

  it('stops idempotently, leaving no namespace and no process behind', async () => {
    await started().stop();
    await started().stop();
    expect(twoNodeSwarmLeftovers(dir)).toEqual([]);
  }, 180_000);
});
