import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { NodeOperations } from '@swarmlet/deployer';
import { ensureStandInImage, repoRoot, requireEngine, waitFor } from '../support/docker.js';
import {
  startTwoNodeSwarm,
  TWO_NODE_START_TIMEOUT_MS,
  type SwarmNode,
  type TwoNodeSwarm,
} from '../support/two-node-swarm.js';

interface NodeInfo {
  Spec: { Role: string; Labels?: Record<string, string> };
  Description: { Hostname: string };
  Status: { State: string };
}

/** The version install.sh tags its images with: package.json's, then the checkout's short commit. */
async function sourceVersion(): Promise<string> {
  const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  const commit = await execa('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD']);
  return `${version}-${commit.stdout}`;
}

/**
 * `install.sh --join TOKEN@ADDR[:PORT]` run inside the worker's network namespace of a real two-node swarm (test
 * support), against its engine: each bad join stops with its one line and leaves the engine out of any swarm; the
 * command the deployer prints joins the worker, which the manager then sees Ready, with no label and no secret or
 * service added; running it again on the joined node is a no-op, and a join aimed at another manager is refused.
 */
describe('install.sh --join', () => {
  const dir = mkdtempSync(join(tmpdir(), 'swlj-'));
  const installSh = join(repoRoot, 'install.sh');
  let swarm: TwoNodeSwarm | undefined;
  let joinArgs: string[] = [];
  let token = '';
  let version = '';
  let forwarder = '';

  const started = (): TwoNodeSwarm => {
    if (!swarm) throw new Error('the swarm did not start');
    return swarm;
  };
  /** The registry firewall's script goes under the test's directory, not /usr/local/sbin of this machine. */
  const firewall = join(dir, 'sbin', 'swarmlet-registry-firewall');
  const installOn = (node: SwarmNode, args: string[]) =>
    node.run('bash', [installSh, ...args], {
      reject: false,
      input: '',
      env: { SWARMLET_FIREWALL_COMMAND: firewall },
    });
  const swarmState = async (node: SwarmNode) =>
    ((await node.docker.info()) as { Swarm: { LocalNodeState: string } }).Swarm.LocalNodeState;

  beforeAll(async () => {
    const busybox = await ensureStandInImage(await requireEngine(), 'busybox');
    swarm = await startTwoNodeSwarm(dir, { join: false });
    await swarm.load([busybox]);
    // The forwarder's real build is install.test.ts's business: a stand-in under its tag makes the join skip it.
    version = await sourceVersion();
    forwarder = `swarmlet.invalid/forwarder:${version}`;
    await swarm.worker.docker.getImage(busybox).tag({ repo: 'swarmlet.invalid/forwarder', tag: version });
    const printed = await new NodeOperations(swarm.manager.docker).joinCommand('worker');
    const words = printed.install.split(' ');
    expect(words.slice(0, 2)).toEqual(['sudo', './install.sh']);
    joinArgs = words.slice(2);
    token = printed.install.replace(/^.*--join (SWMTKN-[^@]+)@.*$/, '$1');
  }, TWO_NODE_START_TIMEOUT_MS);

  afterAll(async () => {
    await swarm?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  it.each([
    ['no @', 'SWMTKN-1-abc-def', /^install\.sh: --join takes TOKEN@ADDR\[:PORT\].*no @/],
    ['an empty token', '@10.98.6.1:2377', /^install\.sh: --join has an empty token/],
    [
      'a token not shaped SWMTKN-1-…',
      'secret@10.98.6.1:2377',
      /^install\.sh: --join's token is not a swarm join token/,
    ],
    ['a bad address', 'SWMTKN-1-abc-def@10.98.6.1:2377:1', /^install\.sh: --join's address is not HOST\[:PORT\]/],
  ])(
    'refuses %s in one line, changing nothing',
    async (_what, argument, line) => {
      const result = await installOn(started().worker, ['--join', argument]);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(line);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).not.toContain('secret');
      expect(await swarmState(started().worker)).toBe('inactive');
    },
    60_000,
  );

  it('refuses an address where nothing answers, naming the port to open', async () => {
    const result = await installOn(started().worker, ['--join', `${token}@10.98.6.9:2377`]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim()).toMatch(
      /^install\.sh: step "check that the manager answers on 10\.98\.6\.9:2377" failed: nothing answers on 10\.98\.6\.9:2377 .*open port 2377\/tcp on the manager/,
    );
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(await swarmState(started().worker)).toBe('inactive');
  }, 60_000);

  it('says the join token was refused for a well-formed token that is not the swarm’s', async () => {
    const wrongSecret = token.replace(/-[0-9a-z]+$/, `-${'0'.repeat(25)}`);
    const otherSwarm = `SWMTKN-1-${'1'.repeat(50)}-${'2'.repeat(25)}`;
    for (const wrong of [wrongSecret, otherSwarm]) {
      const result = await installOn(started().worker, ['--join', `${wrong}@10.98.6.1`]);
      expect(result.exitCode).toBe(1);
      expect(result.stderr.trim()).toMatch(/failed: the join token was refused by the manager at 10\.98\.6\.1:2377/);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).not.toContain(wrong);
      expect(await swarmState(started().worker)).toBe('inactive');
    }
    expect((await started().manager.docker.listNodes()) as unknown[]).toHaveLength(1);
  }, 180_000);

  it('with --no-build, refuses before joining when the forwarder image is missing', async () => {
    const { worker } = started();
    await worker.docker.getImage(forwarder).remove({ noprune: true });
    try {
      const result = await installOn(worker, [...joinArgs, '--no-build']);
      expect(result.exitCode).toBe(1);
      expect(result.stderr.trim()).toBe(
        `install.sh: step "check the image ${forwarder} (--no-build)" failed: ${forwarder} is not on this engine: build it from this commit elsewhere and docker load it, or run without --no-build`,
      );
      expect(await swarmState(worker)).toBe('inactive');
    } finally {
      await worker.docker.getImage('busybox:latest').tag({ repo: 'swarmlet.invalid/forwarder', tag: version });
    }
  }, 120_000);

  it('joins with the command the deployer prints: the manager sees it Ready, nothing else changes', async () => {
    const { manager, worker } = started();
    const secretsBefore = await manager.docker.listSecrets();
    const servicesBefore = await manager.docker.listServices();
    const result = await installOn(worker, joinArgs);
    expect({ exitCode: result.exitCode, stderr: result.stderr }).toEqual({ exitCode: 0, stderr: '' });
    expect(result.stdout).toContain('==> check from this side that the node is an active member');
    expect(result.stdout).toMatch(/swarmlet\.invalid\/forwarder:\S+ is here already/);
    expect(result.stdout).toMatch(/This machine is now a worker node of the swarm at 10\.98\.6\.1:2377 .*swarmlet-n2/);
    // Port 5000 (the forwarder's, in host publish mode) is confined on the new node as on the first one.
    expect(result.stdout).toContain("==> confine the registry's port 5000 to this machine and the swarm's nodes");
    const rules = await worker.run('iptables', ['-w', '-S', 'SWARMLET-REGISTRY-5000']);
    expect(rules.stdout).toContain('-s 10.98.6.1/32 -j RETURN');
    expect(rules.stdout).toMatch(/-j REJECT --reject-with tcp-reset/);
    const jumps = await worker.run('iptables', ['-w', '-S', 'DOCKER-USER']);
    expect(jumps.stdout).toContain('-j SWARMLET-REGISTRY-5000');
    expect(result.stdout).toContain(
      '2377/tcp to the managers; 7946/tcp, 7946/udp and 4789/udp between every two nodes',
    );
    expect(result.stdout).not.toContain(token);

    const nodes = await waitFor(
      'the manager to see both nodes Ready',
      async () => {
        const listed = (await manager.docker.listNodes()) as NodeInfo[];
        return listed.filter((node) => node.Status.State === 'ready').length === 2 ? listed : undefined;
      },
      { timeoutMs: 120_000 },
    );
    const joined = nodes.find((node) => node.Description.Hostname === 'swarmlet-n2');
    expect(joined?.Spec.Role).toBe('worker');
    expect(joined?.Spec.Labels ?? {}).toEqual({});
    expect(await manager.docker.listSecrets()).toEqual(secretsBefore);
    expect(await manager.docker.listServices()).toEqual(servicesBefore);
  }, 300_000);

  it('run again on the joined node, joins nothing and brings the firewall and forwarder image up to date', async () => {
    const { manager, worker } = started();
    const result = await installOn(worker, joinArgs);
    expect({ exitCode: result.exitCode, stderr: result.stderr }).toEqual({ exitCode: 0, stderr: '' });
    expect(result.stdout).toContain('this engine is already a node of the swarm at 10.98.6.1:2377: no join needed');
    expect(result.stdout).not.toContain('==> join the swarm');
    expect(result.stdout).toMatch(/swarmlet\.invalid\/forwarder:\S+ is here already/);
    expect(result.stdout).toMatch(/This machine is now a worker node of the swarm at 10\.98\.6\.1:2377/);
    const jumps = await worker.run('iptables', ['-w', '-S', 'DOCKER-USER']);
    expect(jumps.stdout.split('\n').filter((rule) => rule.endsWith('-j SWARMLET-REGISTRY-5000'))).toHaveLength(1);
    expect((await manager.docker.listNodes()) as unknown[]).toHaveLength(2);
  }, 120_000);

  it('refuses to join another manager while in a swarm, saying how to leave', async () => {
    const { manager, worker } = started();
    // The worker's own gossip port answers over TCP, and it is no manager of the worker's swarm.
    const result = await installOn(worker, ['--join', `${token}@10.98.6.2:7946`]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim()).toMatch(
      /failed: this engine is already in a swarm \(node \w+, managers at 10\.98\.6\.1:2377 ?\): leave it first with `docker swarm leave`/,
    );
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(await swarmState(worker)).toBe('active');
    expect((await manager.docker.listNodes()) as unknown[]).toHaveLength(2);
  }, 120_000);
});
