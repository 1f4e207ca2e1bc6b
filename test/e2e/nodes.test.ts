import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { requireEngine } from '../support/docker.js';
import { startLocalPlatform, type LocalPlatform } from '../support/platform.js';

interface NodeInfo {
  ID: string;
  Spec: { Availability: string; Labels?: Record<string, string> };
  Description: { Hostname: string };
}

/**
 * The `nodes` verbs over SSH against `swarmlet up`, on the test machine's one-node swarm: what they show and
 * change, and the refusals that leave the node as it was. (Joining a second node is the multi-node test's.)
 */
describe('nodes', () => {
  const work = mkdtempSync(join(tmpdir(), 'swarmlet-nodes-'));
  const key = `swarmlet-test-${process.pid}`;
  let docker: Docker;
  let platform: LocalPlatform;
  let self: NodeInfo;

  const inspectSelf = async () => (await docker.getNode(self.ID).inspect()) as NodeInfo;

  beforeAll(async () => {
    docker = await requireEngine();
    const { Swarm } = (await docker.info()) as { Swarm: { NodeID: string } };
    self = (await docker.getNode(Swarm.NodeID).inspect()) as NodeInfo;
    platform = await startLocalPlatform(work);
  }, 180_000);

  afterAll(async () => {
    await platform.stop();
    rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it('lists the node with its role, availability, state, address and labels, also as JSON', async () => {
    const listed = await platform.ssh(['nodes']);
    expect(listed.exitCode).toBe(0);
    expect(listed.stdout).toMatch(
      /^NODE\s+ID\s+ROLE\s+AVAILABILITY\s+STATE\s+ADDRESS\s+ENGINE\s+TASKS\s+HOLDS\s+LABELS$/m,
    );
    expect(listed.stdout).toMatch(
      new RegExp(
        `^${self.Description.Hostname}\\s+${self.ID.slice(0, 12)}\\s+manager \\(leader\\)\\s+active\\s+ready\\s`,
        'm',
      ),
    );
    const json = JSON.parse((await platform.ssh(['nodes', '--json'])).stdout) as { id: string; labels: object }[];
    expect(json.find((node) => node.id === self.ID)).toMatchObject({
      role: 'manager',
      leader: true,
      availability: 'active',
      state: 'ready',
      labels: self.Spec.Labels ?? {},
    });
    expect((await platform.cli(['nodes', '--json'])).stdout).toBe((await platform.ssh(['nodes', '--json'])).stdout);
  }, 60_000);

  it('sets and removes a node label; a reserved swarmlet.* label needs --force', async () => {
    const set = await platform.ssh(['nodes', 'label', self.Description.Hostname, `${key}=blue`]);
    expect(set.stdout).toBe(`${self.Description.Hostname}: ${key}=blue`);
    expect(set.exitCode).toBe(0);
    expect((await inspectSelf()).Spec.Labels?.[key]).toBe('blue');
    const removed = await platform.ssh(['nodes', 'label', self.ID, `${key}=`]);
    expect(removed.stdout).toBe(`removed ${key} from ${self.Description.Hostname}`);
    expect((await inspectSelf()).Spec.Labels).not.toHaveProperty(key);

    const before = (await inspectSelf()).Spec.Labels ?? {};
    const reserved = await platform.ssh(['nodes', 'label', self.Description.Hostname, 'swarmlet.registry=elsewhere']);
    expect(reserved.exitCode).toBe(1);
    expect(reserved.stderr).toBe(
      "swarmlet: swarmlet.registry is the platform's own label (the registry and deployer are placed by swarmlet.registry and swarmlet.deployer): add --force to change it",
    );
    expect((await inspectSelf()).Spec.Labels ?? {}).toEqual(before);
  }, 60_000);

  it('refuses an unknown node, draining the only active node, and malformed commands, changing nothing', async () => {
    const unknown = await platform.ssh(['nodes', 'drain', `no-such-node-${process.pid}`]);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toBe(`swarmlet: no node "no-such-node-${process.pid}" in this swarm: \`nodes\` lists them`);
    const only = await platform.ssh(['nodes', 'drain', self.Description.Hostname]);
    expect(only.exitCode).toBe(1);
    expect(only.stderr).toMatch(/^swarmlet: \S+ (is the only active node|holds the .*pinned to it by node label)/);
    expect((await inspectSelf()).Spec.Availability).toBe('active');
    for (const args of [
      ['nodes', 'frobnicate'],
      ['nodes', 'label', self.ID],
      ['nodes', 'label', self.ID, 'novalue'],
      ['nodes', 'join-command', 'boss'],
      ['nodes', 'drain'],
    ]) {
      const refused = await platform.ssh(args);
      expect({ args, status: refused.exitCode, lines: refused.stderr.split('\n').length }).toEqual({
        args,
        status: 2,
        lines: 1,
      });
    }
    const badKey = await platform.ssh(['nodes', 'label', self.ID, 'bad!key=1']);
    expect(badKey.exitCode).toBe(1);
    expect(badKey.stderr).toMatch(/^swarmlet: invalid label key "bad!key"/);
  }, 60_000);

  it('prints the join command with the ports to open, and warns when the swarm advertises loopback', async () => {
    const joined = await platform.ssh(['nodes', 'join-command']);
    expect(joined.exitCode).toBe(0);
    const { JoinTokens } = (await docker.swarmInspect()) as { JoinTokens: { Worker: string; Manager: string } };
    expect(joined.stdout).toContain(`sudo ./install.sh --join ${JoinTokens.Worker}@`);
    expect(joined.stdout).toContain(`docker swarm join --token ${JoinTokens.Worker} `);
    expect(joined.stdout).toContain('Open between the nodes: 2377/tcp (managers), 7946/tcp, 7946/udp, 4789/udp');
    const manager = JSON.parse((await platform.ssh(['nodes', 'join-command', 'manager', '--json'])).stdout) as {
      docker: string;
      warning?: string;
    };
    expect(manager.docker).toContain(JoinTokens.Manager);
    if (manager.docker.endsWith('127.0.0.1:2377')) expect(manager.warning).toMatch(/no other machine reaches/);
  }, 60_000);
});
