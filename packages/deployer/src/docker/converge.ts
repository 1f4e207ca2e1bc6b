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

/** How a stack's convergence ended. */
export type ConvergeResult =
  { ok: true; services: ServiceProgress[] } | { ok: false; service: string; reason: string; rolledBack: boolean };

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
  ServiceID?: string;
  NodeID?: string;
  DesiredState?: string;
  CreatedAt?: string;
  Spec?: { ContainerSpec?: { Image?: string } };
  Status?: { State?: string; Err?: string; Message?: string; ContainerStatus?: { ExitCode?: number } };
}

/** Update states that end a deploy as failed; `rollback_started` is followed until the rollback ends. */
const FAILED_UPDATE = new Set(['paused', 'rollback_paused', 'rollback_completed']);
const FAILED_TASK = new Set(['failed', 'rejected']);

/**
 * Follows the services of stack `stack` until every one runs its desired replicas of its current spec (a task
 * with a health check counts once healthy, as swarm reports it `running` only then), and resolves with the
 * result. A service fails when swarm reports its update paused or rolled back (the deployer's compose asks
 * for `failure_action: rollback`; a started rollback is followed to its end, so the previous version serves
 * again by the time this resolves), when it keeps failing
 * tasks with no update to roll back, or when the time-out passes; the result names the service and the last
 * task error. Progress is handed to `onProgress` whenever it changes.
 * @throws `options.signal`'s reason when it aborts; DeployStopped when an Engine call outlasts `options.callMs`.
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
  for (;;) {
    const services = (await limitedCall(limits, 'the service list', (signal) =>
      docker.listServices({ filters, ...(signal && { abortSignal: signal }) }),
    )) as ServiceInfo[];
    const tasks = (await limitedCall(limits, 'the task list', (signal) =>
      docker.listTasks({ filters, ...(signal && { abortSignal: signal }) }),
    )) as TaskInfo[];
    const listed = (await limitedCall(limits, 'the node list', (signal) =>
      docker.listNodes(signal && { abortSignal: signal }),
    )) as { ID: string; Status?: { State?: string } }[];
    const nodes = new Set(listed.filter((node) => node.Status?.State === 'ready').map((node) => node.ID));
    const progress: ServiceProgress[] = [];
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
        return {
          ok: false,
          service: service.Spec.Name,
          reason: [update?.Message, lastError].filter(Boolean).join(': ') || `update ${ownUpdate}`,
          rolledBack: ownUpdate === 'rollback_completed',
        };
      }
      if (!ownUpdate && recentFailures.length >= (options.maxFailedTasks ?? 3)) {
        return {
          ok: false,
          service: service.Spec.Name,
          reason: lastError ?? 'its tasks keep failing',
          rolledBack: false,
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
    if (services.length > 0 && settled) return { ok: true, services: progress };
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
      };
    }
    await sleep(options.intervalMs ?? 250, undefined, options.signal && { signal: options.signal }).catch(
      (error: unknown) => {
        throw options.signal?.aborted ? (options.signal.reason as unknown) : error;
      },
    );
  }
}

function describeFailure(tasks: TaskInfo[]): string | undefined {
  const last = tasks.sort((a, b) => (a.CreatedAt ?? '').localeCompare(b.CreatedAt ?? '')).at(-1);
  if (!last) return undefined;
  const exit = last.Status?.ContainerStatus?.ExitCode;
  return [last.Status?.Err ?? last.Status?.Message, exit !== undefined ? `exit code ${exit}` : undefined]
    .filter(Boolean)
    .join(', ');
}
