import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { limitedCall } from './engine-request.js';

/** A service's state while a stack converges. */
export interface ServiceProgress {
  service: string;
  running: number;
  desired: number;
  /** Swarm's update state (`updating`, `completed`, `rollback_started`, …), when an update ran. */
  update?: string;
}

/** Progress as one log line: `app_web 1/2, app_worker 1/1`. */
export function describeProgress(progress: readonly ServiceProgress[]): string {
  return progress.map((service) => `${service.service} ${service.running}/${service.desired}`).join(', ');
}

/**
 * A stretch during which a service's task was down while a deploy replaced it: from the old task's stop to its
 * replacement running (healthy, when the image has a health check), both as swarm recorded them.
 */
export interface ServiceOutage {
  service: string;
  /** The longest such stretch among the service's tasks, in milliseconds. */
  ms: number;
  /** When the old task of that stretch stopped (ISO time). */
  stoppedAt: string;
  /** When its replacement ran (ISO time). */
  servingAt: string;
  /** How many of the service's tasks were down for a while; with `desired` 1 the service answered nothing. */
  tasks: number;
  desired: number;
}

/** How a stack's convergence ended, with the outages its updates and rollbacks caused (none for start-first). */
export type ConvergeResult =
  | { ok: true; services: ServiceProgress[]; outages: ServiceOutage[] }
  | { ok: false; service: string; reason: string; rolledBack: boolean; outages: ServiceOutage[] };

/** An outage as one log line. */
export function describeOutage(outage: ServiceOutage): string {
  const seconds = (outage.ms / 1000).toFixed(1);
  const span = `from its old task's stop at ${outage.stoppedAt} to its replacement running at ${outage.servingAt}`;
  return outage.desired <= 1 && outage.tasks <= 1
    ? `${outage.service} was unavailable for ${seconds} s (${span})`
    : `${outage.service}: ${outage.tasks} of its ${outage.desired} tasks were down for a while, the longest ${seconds} s (${span})`;
}

/** Limits of {@link waitForStack}. */
export interface ConvergeOptions {
  /** Give up after this long (a failed result); no limit but `signal` when undefined. */
  timeoutMs?: number;
  /** Stops the wait: it rejects with the signal's reason. */
  signal?: AbortSignal;
  /** The longest one Engine call may take (`SWARMLET_ENGINE_TIMEOUT`). */
  callMs?: number;
  /** Updates that started before this moment belong to earlier deploys. */
  since: Date;
  /** How often to look; default 250 ms. */
  intervalMs?: number;
  /** Failed tasks of one service (without an update to roll back) that count as a failed deploy; default 3. */
  maxFailedTasks?: number;
  /**
   * How long a task may stay pending with a scheduling error (no node meets its constraints, its host port is taken
   * on every node that could run it) before the deploy fails; default 20 s, as swarm retries when nodes change.
   */
  unschedulableMs?: number;
}

interface ServiceInfo {
  ID: string;
  Spec: {
    Name: string;
    Mode?: { Replicated?: { Replicas?: number }; Global?: object };
    TaskTemplate?: { ContainerSpec?: { Image?: string } };
  };
  UpdateStatus?: { State?: string; StartedAt?: string; Message?: string };
}

interface TaskInfo {
  ID?: string;
  ServiceID?: string;
  NodeID?: string;
  Slot?: number;
  DesiredState?: string;
  CreatedAt?: string;
  Spec?: { ContainerSpec?: { Image?: string } };
  Status?: {
    State?: string;
    Timestamp?: string;
    Err?: string;
    Message?: string;
    ContainerStatus?: { ExitCode?: number };
  };
}

/** Update states that end a deploy as failed; `rollback_started` is followed until the rollback ends. */
const FAILED_UPDATE = new Set(['paused', 'rollback_paused', 'rollback_completed']);
const FAILED_TASK = new Set(['failed', 'rejected']);

/**
 * Follows the services of stack `stack` until every one runs its desired replicas of its current spec (a task
 * with a health check counts once healthy, as swarm reports it `running` only then), and resolves with the
 * result. A service fails when swarm reports its update paused or rolled back (the deployer's compose asks
 * for `failure_action: rollback`), when it keeps failing tasks with no update to roll back, when swarm keeps a
 * task pending because no node can run it (`unschedulableMs`), or when the time-out passes; the result names the
 * service and the last task error with the node it happened on. A rolled-back service is answered only once the
 * previous version runs its desired tasks again, healthy (swarm declares the rollback completed before the
 * restored task of a stop-first service has even started); `rolledBack` is true only then. The result lists the
 * outages (a task stopped before its replacement ran), measured from swarm's task timestamps. Progress is handed
 * to `onProgress` whenever it changes.
 */
export async function waitForStack(
  docker: Docker,
  stack: string,
  options: ConvergeOptions,
  onProgress: (progress: ServiceProgress[]) => void,
): Promise<ConvergeResult> {
  const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
  const limits = {
    ...(options.signal && { signal: options.signal }),
    ...(options.callMs && { callMs: options.callMs }),
  };
  const filters = { label: [`com.docker.stack.namespace=${stack}`] };
  let reported = '';
  let restoring: { service: string; reason: string } | undefined;
  const pendingSince = new Map<string, number>();
  for (;;) {
    const services = (await limitedCall(limits, 'the service list', (signal) =>
      docker.listServices({ filters, ...(signal && { abortSignal: signal }) }),
    )) as ServiceInfo[];
    const tasks = (await limitedCall(limits, 'the task list', (signal) =>
      docker.listTasks({ filters, ...(signal && { abortSignal: signal }) }),
    )) as TaskInfo[];
    const listed = (await limitedCall(limits, 'the node list', (signal) =>
      docker.listNodes(signal && { abortSignal: signal }),
    )) as NodeInfo[];
    const nodes = new Set(listed.filter((node) => node.Status?.State === 'ready').map((node) => node.ID));
    const hostnames = new Map(listed.map((node) => [node.ID, node.Description?.Hostname ?? node.ID.slice(0, 12)]));
    const describeFailure = (failed: TaskInfo[]) => describeTaskFailure(failed, hostnames);
    const progress: ServiceProgress[] = [];
    const outages = (): ServiceOutage[] =>
      services.flatMap((service) => serviceOutage(service, tasks, options.since, progress) ?? []);
    restoring = undefined;
    for (const service of services) {
      const own = tasks.filter((task) => task.ServiceID === service.ID);
      const image = service.Spec.TaskTemplate?.ContainerSpec?.Image;
      const current = own.filter((task) => task.Spec?.ContainerSpec?.Image === image);
      const running = current.filter((task) => task.Status?.State === 'running' && task.DesiredState === 'running');
      const desired = service.Spec.Mode?.Global ? nodes.size : (service.Spec.Mode?.Replicated?.Replicas ?? 1);
      const update = service.UpdateStatus;
      const ownUpdate = update?.StartedAt && new Date(update.StartedAt) >= options.since ? update.State : undefined;
      progress.push({
        service: service.Spec.Name,
        running: running.length,
        desired,
        ...(ownUpdate && { update: ownUpdate }),
      });
      const recentFailures = own.filter(
        (task) => FAILED_TASK.has(task.Status?.State ?? '') && new Date(task.CreatedAt ?? 0) >= options.since,
      );
      const lastError = describeFailure(recentFailures);
      if (ownUpdate && FAILED_UPDATE.has(ownUpdate)) {
        const reason = [update?.Message, lastError].filter(Boolean).join(': ') || `update ${ownUpdate}`;
        if (ownUpdate !== 'rollback_completed' || running.length >= desired) {
          const rolledBack = ownUpdate === 'rollback_completed';
          return { ok: false, service: service.Spec.Name, reason, rolledBack, outages: outages() };
        }
        restoring ??= { service: service.Spec.Name, reason };
      }
      const stuck = unschedulable(current, pendingSince, options.unschedulableMs ?? 20_000);
      if (stuck) {
        return {
          ok: false,
          service: service.Spec.Name,
          reason: `no node can run its task: ${stuck}`,
          rolledBack: false,
          outages: outages(),
        };
      }
      if (!ownUpdate && recentFailures.length >= (options.maxFailedTasks ?? 3)) {
        return {
          ok: false,
          service: service.Spec.Name,
          reason: lastError ?? 'its tasks keep failing',
          rolledBack: false,
          outages: outages(),
        };
      }
    }
    const text = JSON.stringify(progress);
    if (text !== reported) {
      reported = text;
      onProgress(progress);
    }
    const settled = progress.every(
      (service) =>
        service.running >= service.desired && (service.update === undefined || service.update === 'completed'),
    );
    if (services.length > 0 && settled) return { ok: true, services: progress, outages: outages() };
    if (Date.now() > deadline && restoring) {
      return {
        ok: false,
        service: restoring.service,
        reason: `${restoring.reason}; swarm rolled it back, but the previous version does not run again after ${Math.round((options.timeoutMs ?? 0) / 1000)} s`,
        rolledBack: false,
        outages: outages(),
      };
    }
    if (Date.now() > deadline) {
      const stuck = progress.find((service) => service.running < service.desired || service.update === 'updating');
      const errors = describeFailure(
        tasks.filter((task) => task.ServiceID && FAILED_TASK.has(task.Status?.State ?? '')),
      );
      return {
        ok: false,
        service: stuck?.service ?? stack,
        reason: `not converged after ${Math.round((options.timeoutMs ?? 0) / 1000)} s${errors ? `: ${errors}` : ''}`,
        rolledBack: false,
        outages: outages(),
      };
    }
    await sleep(options.intervalMs ?? 250, undefined, options.signal && { signal: options.signal }).catch(
      (error: unknown) => {
        throw options.signal?.aborted ? (options.signal.reason as unknown) : error;
      },
    );
  }
}

interface NodeInfo {
  ID: string;
  Description?: { Hostname?: string };
  Status?: { State?: string };
}

/**
 * The newest failed task's error as one phrase naming its node: `on node web-2: No such image: …, exit code 1`.
 * Undefined for no task.
 */
function describeTaskFailure(tasks: TaskInfo[], hostnames: ReadonlyMap<string, string>): string | undefined {
  const last = tasks.sort((a, b) => (a.CreatedAt ?? '').localeCompare(b.CreatedAt ?? '')).at(-1);
  if (!last) return undefined;
  // A rejected task's container never ran: its exit code (0) says nothing.
  const exit = last.Status?.State === 'failed' ? last.Status.ContainerStatus?.ExitCode : undefined;
  const error = [last.Status?.Err ?? last.Status?.Message, exit !== undefined ? `exit code ${exit}` : undefined]
    .filter(Boolean)
    .join(', ');
  const node = last.NodeID && hostnames.get(last.NodeID);
  return node ? `on node ${node}: ${error}` : error;
}

/**
 * The scheduling error of a task of the current spec that swarm has kept pending for longer than `graceMs`
 * (`no suitable node (…)`), remembering in `pendingSince` when each such task was first seen; undefined while none
 * has waited that long.
 */
function unschedulable(current: readonly TaskInfo[], pendingSince: Map<string, number>, graceMs: number) {
  for (const task of current) {
    if (!task.ID) continue;
    const error = task.DesiredState === 'running' && task.Status?.State === 'pending' ? task.Status.Err : undefined;
    if (!error) {
      pendingSince.delete(task.ID);
      continue;
    }
    const first = pendingSince.get(task.ID) ?? Date.now();
    pendingSince.set(task.ID, first);
    if (Date.now() - first > graceMs) return error;
  }
  return undefined;
}

/**
 * The service's outage in this deploy: for each of its slots (a node, for a global service), the stretch from the
 * stop of the task that ran before `since` to the start of the task of the current spec that runs now, when the
 * former came first. Undefined when no task was down.
 */
function serviceOutage(
  service: ServiceInfo,
  tasks: readonly TaskInfo[],
  since: Date,
  progress: readonly ServiceProgress[],
): ServiceOutage | undefined {
  const image = service.Spec.TaskTemplate?.ContainerSpec?.Image;
  const own = tasks.filter((task) => task.ServiceID === service.ID);
  const slot = (task: TaskInfo) => String(task.Slot ?? task.NodeID);
  const gaps: { stoppedAt: string; servingAt: string; ms: number }[] = [];
  for (const old of own) {
    const stoppedAt = old.Status?.Timestamp;
    if (!stoppedAt || old.DesiredState === 'running' || new Date(old.CreatedAt ?? 0) >= since) continue;
    if (new Date(stoppedAt) < since) continue;
    const serving = own.find(
      (task) =>
        slot(task) === slot(old) &&
        task.DesiredState === 'running' &&
        task.Status?.State === 'running' &&
        task.Spec?.ContainerSpec?.Image === image,
    );
    const servingAt = serving?.Status?.Timestamp;
    if (!servingAt) continue;
    const ms = Date.parse(servingAt) - Date.parse(stoppedAt);
    if (ms > 0) gaps.push({ stoppedAt, servingAt, ms });
  }
  const longest = gaps.sort((a, b) => b.ms - a.ms)[0];
  if (!longest) return undefined;
  const desired = progress.find((entry) => entry.service === service.Spec.Name)?.desired ?? 1;
  return { service: service.Spec.Name, ...longest, tasks: gaps.length, desired };
}
