import type { NodeSummary } from '../docker/nodes.js';
import type { JoinCommand } from '../node-operations.js';
import type { AgentClient } from './agent-client.js';
import { table } from './render.js';
import type { ExitStatus, VerbIo } from './run-verb.js';
import { JSON_FLAG, positionals, print, segment, UsageError } from './verb-args.js';

/** The `nodes` lines of `help`. */
export const NODES_USAGE: readonly string[] = [
  "nodes [--json]                                 the swarm's nodes: role, state, address, labels, tasks",
  'nodes join-command [worker|manager] [--json]   what a new machine runs to join the swarm',
  'nodes drain|activate NODE [--force]            move the tasks off a node, or let them back',
  'nodes label NODE KEY=VALUE|KEY= [--force]      set a node label, or remove it (KEY=)',
];

const FORCE = { force: { type: 'boolean' } } as const;

/**
 * Runs `nodes …` (args after the verb) against the agent: the list, the join command, drain/activate, label.
 * @throws UsageError for a malformed command; AgentError for the agent's refusal.
 */
export async function runNodes(args: readonly string[], client: AgentClient, io: VerbIo): Promise<ExitStatus> {
  const [sub, ...rest] = args;
  switch (sub) {
    case undefined:
    case '--json': {
      const { values } = positionals(args, JSON_FLAG, 0, 'nodes [--json]', 0);
      const { nodes } = await client.json<{ nodes: NodeSummary[] }>('/nodes', io.signal);
      return print(io, values.json === true, nodes, () => renderNodes(nodes));
    }
    case 'join-command': {
      const usage = 'nodes join-command [worker|manager] [--json]';
      const {
        values,
        positionals: [role = 'worker'],
      } = positionals(rest, JSON_FLAG, 0, usage, 1);
      if (role !== 'worker' && role !== 'manager') throw new UsageError(`usage: ${usage}`);
      const join = await client.json<JoinCommand>(`/nodes/join-command?role=${role}`, io.signal);
      return print(io, values.json === true, join, () => renderJoin(join));
    }
    case 'drain':
    case 'activate': {
      const {
        values,
        positionals: [node],
      } = positionals(rest, FORCE, 1, `nodes ${sub} NODE [--force]`, 1);
      const body = { availability: sub === 'drain' ? 'drain' : 'active', force: values.force === true };
      const changed = await client.change<NodeSummary>('POST', `/nodes/${segment(node)}/availability`, body, io.signal);
      io.write(`${changed.hostname} is ${changed.availability}\n`);
      return 0;
    }
    case 'label': {
      const usage = 'nodes label NODE KEY=VALUE|KEY= [--force]';
      const {
        values,
        positionals: [node, pair = ''],
      } = positionals(rest, FORCE, 2, usage, 2);
      const equals = pair.indexOf('=');
      if (equals <= 0) throw new UsageError(`usage: ${usage}`);
      const key = pair.slice(0, equals);
      const value = pair.slice(equals + 1);
      const body = { key, value: value === '' ? null : value, force: values.force === true };
      const changed = await client.change<NodeSummary>('POST', `/nodes/${segment(node)}/labels`, body, io.signal);
      io.write(
        value === ''
          ? `removed ${key} from ${changed.hostname}\n`
          : `${changed.hostname}: ${key}=${changed.labels[key] ?? ''}\n`,
      );
      return 0;
    }
    default:
      throw new UsageError(
        `unknown nodes command ${JSON.stringify(sub.slice(0, 40))}; usage: ${NODES_USAGE.map((line) => line.split('  ')[0]).join(' | ')}`,
      );
  }
}

/** The `nodes` table. */
export function renderNodes(nodes: NodeSummary[]): string[] {
  return table([
    ['NODE', 'ID', 'ROLE', 'AVAILABILITY', 'STATE', 'ADDRESS', 'ENGINE', 'TASKS', 'HOLDS', 'LABELS'],
    ...nodes.map((node) => [
      node.hostname,
      node.id.slice(0, 12),
      node.leader ? 'manager (leader)' : node.role,
      node.availability,
      node.state,
      node.address,
      node.engine,
      String(node.runningTasks),
      node.holds.join(',') || '-',
      Object.entries(node.labels)
        .map(([key, value]) => `${key}=${value}`)
        .join(',') || '-',
    ]),
  ]);
}

function renderJoin(join: JoinCommand): string[] {
  return [
    `On the new machine, from a checkout of Swarmlet (joins it as a ${join.role}):`,
    `  ${join.install}`,
    'or with Docker alone:',
    `  ${join.docker}`,
    `Open between the nodes: ${join.ports.join(', ')}`,
    ...(join.warning ? [`warning: ${join.warning}`] : []),
  ];
}
