import type Docker from 'dockerode';

/** One task of a service, as `status` shows it. */
export interface TaskState {
  /** `web.1` for a replicated service, `web.<node>` for a global one. */
  name: string;
  node: string;
  state: string;
  desiredState: string;
  /** When the task's state last changed (ISO time). */
  since: string;
  error?: string;
}

/** One service of an app's stack, as the swarm runs it now. */
export interface ServiceState {
  /** The name in the compose file (`web`), without the stack's prefix. */
  service: string;
  /** The image the spec names, digest included when swarm pinned it. */
  image: string;
  mode: 'replicated' | 'global';
  running: number;
  desired: number;
  /** Ports published in host mode, which one task per node can hold. */
  hostPorts: number[];
  /** Its current tasks (desired running, or the latest of each slot), oldest slot first. */
  tasks: TaskState[];
}

interface ServiceInfo {
  ID: string;
  Version?: { Index?: number };
  UpdateStatus?: { StartedAt?: string };
  Spec: {
    Name: string;
    Labels?: Record<string, string>;
    Mode?: { Replicated?: { Replicas?: number }; Global?: object };
    TaskTemplate?: { ContainerSpec?: { Image?: string }; ForceUpdate?: number };
    EndpointSpec?: { Ports?: { PublishedPort?: number; PublishMode?: string }[] };
  };
}

interface TaskInfo {
  ID: string;
  ServiceID?: string;
  NodeID?: string;
  Slot?: number;
  DesiredState?: string;
  Status?: { State?: string; Timestamp?: string; Err?: string; Message?: string };
}

const STACK_LABEL = 'com.docker.stack.namespace';

/** The stack label filter that finds every object of `app`'s stack (or of every stack, without `app`). */
export function stackFilter(app?: string): { label: string[] } {
  return { label: [app === undefined ? STACK_LABEL : `${STACK_LABEL}=${app}`] };
}

/**
 * Every stack on the swarm with its services' running and desired replica counts added up, by stack name. One
 * listing of services, tasks and nodes, whatever the number of stacks.
 */
export async function stackReplicaCounts(docker: Docker): Promise<Map<string, { running: number; desired: number }>> {
  const states = await readServiceStates(docker, undefined);
  const counts = new Map<string, { running: number; desired: number }>();
  for (const { stack, state } of states) {
    const total = counts.get(stack) ?? { running: 0, desired: 0 };
    total.running += state.running;
    total.desired += state.desired;
    counts.set(stack, total);
  }
  return counts;
}

/** The services of `app`'s stack as they run now, by compose name; empty when the stack is not deployed. */
export async function appServices(docker: Docker, app: string): Promise<ServiceState[]> {
  return (await readServiceStates(docker, app)).map(({ state }) => state);
}

async function readServiceStates(
  docker: Docker,
  app: string | undefined,
): Promise<{ stack: string; state: ServiceState }[]> {
  const [services, tasks, nodes] = await Promise.all([
    docker.listServices({ filters: stackFilter(app) }) as Promise<ServiceInfo[]>,
    docker.listTasks({ filters: stackFilter(app) }) as Promise<TaskInfo[]>,
    docker.listNodes() as Promise<{ ID: string; Description?: { Hostname?: string }; Status?: { State?: string } }[]>,
  ]);
  const hostnames = new Map(nodes.map((node) => [node.ID, node.Description?.Hostname ?? node.ID.slice(0, 12)]));
  const readyNodes = nodes.filter((node) => node.Status?.State === 'ready').length;
  return services
    .map((service) => {
      const stack = service.Spec.Labels?.[STACK_LABEL] ?? '';
      const name = service.Spec.Name.startsWith(`${stack}_`)
        ? service.Spec.Name.slice(stack.length + 1)
        : service.Spec.Name;
      const global = service.Spec.Mode?.Global !== undefined;
      const own = currentTasks(tasks.filter((task) => task.ServiceID === service.ID));
      const state: ServiceState = {
        service: name,
        image: service.Spec.TaskTemplate?.ContainerSpec?.Image ?? '',
        mode: global ? 'global' : 'replicated',
        running: own.filter((task) => task.Status?.State === 'running' && task.DesiredState === 'running').length,
        desired: global ? readyNodes : (service.Spec.Mode?.Replicated?.Replicas ?? 1),
        hostPorts: (service.Spec.EndpointSpec?.Ports ?? [])
          .filter((port) => port.PublishMode === 'host' && port.PublishedPort !== undefined)
          .map((port) => port.PublishedPort ?? 0),
        tasks: own.map((task) => describeTask(task, name, global, hostnames)),
      };
      return { stack, state };
    })
    .sort((a, b) => a.stack.localeCompare(b.stack) || a.state.service.localeCompare(b.state.service));
}

/** For each slot (or node, for a global service), the task meant to run, else the most recent one. */
function currentTasks(tasks: TaskInfo[]): TaskInfo[] {
  const bySlot = new Map<string, TaskInfo>();
  const newest = [...tasks].sort((a, b) => (a.Status?.Timestamp ?? '').localeCompare(b.Status?.Timestamp ?? ''));
  for (const task of newest) {
    const key = (task.Slot ?? 0) > 0 ? `slot ${task.Slot}` : `node ${task.NodeID ?? task.ID}`;
    const kept = bySlot.get(key);
    if (kept?.DesiredState !== 'running' || task.DesiredState === 'running') bySlot.set(key, task);
  }
  return [...bySlot.values()].sort((a, b) => (a.Slot ?? 0) - (b.Slot ?? 0));
}

function describeTask(task: TaskInfo, service: string, global: boolean, hostnames: Map<string, string>): TaskState {
  const node = task.NodeID ? (hostnames.get(task.NodeID) ?? task.NodeID.slice(0, 12)) : '';
  const error = task.Status?.Err;
  return {
    name: global ? `${service}.${node}` : `${service}.${task.Slot ?? 0}`,
    node,
    state: task.Status?.State ?? 'unknown',
    desiredState: task.DesiredState ?? 'unknown',
    since: task.Status?.Timestamp ?? '',
    ...(error && { error }),
  };
}

/** What to say when `app` runs no service `service`: the name (cut to 80 characters), then the services it runs. */
export function noSuchService(app: string, service: string, names: readonly string[]): string {
  const known = names.length > 0 ? ` (its services: ${[...names].sort().join(', ')})` : '';
  return `${app} runs no service ${JSON.stringify(service.slice(0, 80))}${known}`;
}

/** A change to one of an app's services that the swarm refused or that cannot apply. */
export class ServiceChangeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServiceChangeError';
  }
}

/**
 * Sets the replica count of service `service` of `app`'s stack, now, through the Engine API. Convergence is the
 * caller's to follow.
 * @throws ServiceChangeError when the stack has no such service or it is global.
 */
export async function scaleService(docker: Docker, app: string, service: string, replicas: number): Promise<void> {
  const info = await findService(docker, app, service);
  if (info.Spec.Mode?.Global !== undefined) {
    throw new ServiceChangeError(`${service} is a global service: it runs one task on every node and cannot be scaled`);
  }
  await docker.getService(info.ID).update({
    ...info.Spec,
    version: info.Version?.Index,
    Mode: { Replicated: { Replicas: replicas } },
  });
}

/**
 * Restarts every task of the service (all of `app`'s services when `service` is undefined) as `docker service
 * update --force` does: a rolling replacement under each service's update policy. Resolves once the swarm has
 * started each update (so following convergence from then on sees it), with the services' names.
 * @throws ServiceChangeError when the stack has no such service (or no service at all).
 */
export async function restartServices(docker: Docker, app: string, service: string | undefined): Promise<string[]> {
  const services =
    service === undefined ? await listStackServices(docker, app) : [await findService(docker, app, service)];
  if (services.length === 0) throw new ServiceChangeError(`${app} has no running service to restart`);
  const before = new Map<string, string | undefined>();
  for (const info of services) {
    before.set(info.ID, info.UpdateStatus?.StartedAt);
    const template = info.Spec.TaskTemplate ?? {};
    await docker.getService(info.ID).update({
      ...info.Spec,
      version: info.Version?.Index,
      TaskTemplate: { ...template, ForceUpdate: (template.ForceUpdate ?? 0) + 1 },
    });
  }
  const deadline = Date.now() + UPDATE_START_TIMEOUT_MS;
  for (const info of services) {
    while (Date.now() < deadline) {
      const now = (await docker.getService(info.ID).inspect()) as ServiceInfo;
      if (now.UpdateStatus?.StartedAt !== undefined && now.UpdateStatus.StartedAt !== before.get(info.ID)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return services.map((info) => info.Spec.Name);
}

/** How long {@link restartServices} waits for the swarm to start the updates it asked for. */
const UPDATE_START_TIMEOUT_MS = 10_000;

async function listStackServices(docker: Docker, app: string): Promise<ServiceInfo[]> {
  return (await docker.listServices({ filters: stackFilter(app) })) as ServiceInfo[];
}

async function findService(docker: Docker, app: string, service: string): Promise<ServiceInfo> {
  const services = await listStackServices(docker, app);
  const found = services.find((info) => info.Spec.Name === `${app}_${service}`);
  if (!found) {
    throw new ServiceChangeError(
      noSuchService(
        app,
        service,
        services.map((info) => info.Spec.Name.slice(app.length + 1)),
      ),
    );
  }
  return found;
}
