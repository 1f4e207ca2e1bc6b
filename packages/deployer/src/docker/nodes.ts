import type Docker from 'dockerode';

/** One swarm node as `nodes` shows it. */
export interface NodeSummary {
  id: string;
  hostname: string;
  /** `manager` or `worker`; {@link leader} marks the managers' leader. */
  role: 'manager' | 'worker';
  leader: boolean;
  /** `active`, `pause` or `drain`. */
  availability: string;
  /** `ready`, `down`, `unknown` or `disconnected`. */
  state: string;
  address: string;
  labels: Record<string, string>;
  engine: string;
  /** Tasks the swarm wants running on the node that are running now. */
  runningTasks: number;
  /** The core services with a running task on the node (`registry`, `deployer`, `router`). */
  holds: string[];
}

/** A node that the swarm does not know, by the name or id given. */
export class NoSuchNodeError extends Error {
  constructor(node: string) {
    super(`no node ${JSON.stringify(node.slice(0, 80))} in this swarm: \`nodes\` lists them`);
    this.name = 'NoSuchNodeError';
  }
}

interface NodeInfo {
  ID: string;
  Version?: { Index?: number };
  Spec: { Role?: string; Availability?: string; Labels?: Record<string, string>; Name?: string };
  Description?: { Hostname?: string; Engine?: { EngineVersion?: string } };
  Status?: { State?: string; Addr?: string };
  ManagerStatus?: { Leader?: boolean; Addr?: string };
}

interface TaskInfo {
  NodeID?: string;
  ServiceID?: string;
  Status?: { State?: string };
  DesiredState?: string;
}

/** The services whose node `nodes` names, by the stack service's name. */
const CORE_SERVICES: Record<string, string> = {
  registry_registry: 'registry',
  deployer_deployer: 'deployer',
  router_traefik: 'router',
};

/** Every node of the swarm, managers first, then by hostname, with its running tasks and the core services it holds. */
export async function listNodes(docker: Docker): Promise<NodeSummary[]> {
  const [nodes, tasks, services] = await Promise.all([
    docker.listNodes() as Promise<NodeInfo[]>,
    docker.listTasks({ filters: { 'desired-state': ['running'] } }) as Promise<TaskInfo[]>,
    docker.listServices() as Promise<{ ID: string; Spec?: { Name?: string } }[]>,
  ]);
  const coreById = new Map<string, string>();
  for (const service of services) {
    const core = CORE_SERVICES[service.Spec?.Name ?? ''];
    if (core) coreById.set(service.ID, core);
  }
  const summaries = nodes.map((node): NodeSummary => {
    const running = tasks.filter((task) => task.NodeID === node.ID && task.Status?.State === 'running');
    const holds = [...new Set(running.map((task) => coreById.get(task.ServiceID ?? '')).filter((name) => name))];
    return {
      id: node.ID,
      hostname: node.Description?.Hostname ?? node.ID,
      role: node.Spec.Role === 'manager' ? 'manager' : 'worker',
      leader: node.ManagerStatus?.Leader === true,
      availability: node.Spec.Availability ?? 'active',
      state: node.Status?.State ?? 'unknown',
      address: node.Status?.Addr ?? '',
      labels: node.Spec.Labels ?? {},
      engine: node.Description?.Engine?.EngineVersion ?? '',
      runningTasks: running.length,
      holds: (holds as string[]).sort(),
    };
  });
  return summaries.sort((a, b) =>
    a.role === b.role ? a.hostname.localeCompare(b.hostname) : a.role === 'manager' ? -1 : 1,
  );
}

/**
 * The node that `name` names: a hostname, a node id, or an id prefix that only one node has. A hostname that
 * several nodes share must be given by id.
 * @throws NoSuchNodeError when none matches; Error when the name is ambiguous.
 */
export async function findNode(docker: Docker, name: string): Promise<NodeSummary> {
  const nodes = await listNodes(docker);
  const byId = nodes.find((node) => node.id === name);
  if (byId) return byId;
  const byHost = nodes.filter((node) => node.hostname === name);
  const candidates = byHost.length > 0 ? byHost : nodes.filter((node) => name.length >= 4 && node.id.startsWith(name));
  const [only, ...more] = candidates;
  if (!only) throw new NoSuchNodeError(name);
  if (more.length > 0) {
    throw new Error(
      `${name} names ${candidates.length} nodes: give the id (${candidates.map((n) => n.id).join(', ')})`,
    );
  }
  return only;
}

/** What to change of a node's spec. */
export interface NodeChange {
  availability?: 'active' | 'drain' | 'pause';
  /** Labels to set (a string) or remove (`null`). */
  labels?: Record<string, string | null>;
}

/** Applies `change` to the node with id `id`, on the spec's current version (a concurrent change fails, not lost). */
export async function updateNode(docker: Docker, id: string, change: NodeChange): Promise<void> {
  const node = docker.getNode(id);
  const info = (await node.inspect()) as NodeInfo;
  const changes = change.labels ?? {};
  const kept = Object.entries(info.Spec.Labels ?? {}).filter(([key]) => !(key in changes));
  const set = Object.entries(changes).filter((entry): entry is [string, string] => entry[1] !== null);
  const labels = Object.fromEntries([...kept, ...set]);
  await node.update({
    ...info.Spec,
    version: info.Version?.Index,
    Labels: labels,
    ...(change.availability && { Availability: change.availability }),
  });
}

/** What a new node needs to join: the token for the role, and the managers' swarm addresses (`HOST:2377`). */
export async function joinDetails(
  docker: Docker,
  role: 'worker' | 'manager',
): Promise<{ token: string; managers: string[] }> {
  const swarm = (await docker.swarmInspect()) as { JoinTokens?: { Worker?: string; Manager?: string } };
  const token = role === 'manager' ? swarm.JoinTokens?.Manager : swarm.JoinTokens?.Worker;
  if (!token) throw new Error('the swarm gave no join token: is this node a manager?');
  const nodes = (await docker.listNodes()) as NodeInfo[];
  const managers = nodes
    .filter((node) => node.ManagerStatus?.Addr)
    .sort((a, b) => Number(b.ManagerStatus?.Leader === true) - Number(a.ManagerStatus?.Leader === true))
    .map((node) => node.ManagerStatus?.Addr ?? '');
  return { token, managers };
}
