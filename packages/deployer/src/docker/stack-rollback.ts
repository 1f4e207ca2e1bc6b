import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { engineRequest, limitedCall, type CallLimits } from './engine-request.js';

/** What {@link rollBackStack} did to a stack that a stopped deploy had begun to change. */
export interface StackRollback {
  /** Services this deploy had updated, back on their previous spec (swarm's rollback completed). */
  rolledBack: string[];
  /** Services this deploy had created, removed. */
  removed: string[];
  /** Services swarm was already rolling back on its own (`failure_action: rollback`), left to it. */
  alreadyRollingBack: string[];
  /** Services whose rollback did not complete, with the reason. */
  failed: { service: string; reason: string }[];
}

/** Limits of {@link rollBackStack}. */
export interface RollbackOptions {
  /** Changes to services from this moment on are the stopped deploy's. */
  since: Date;
  /** How long to wait for the rollbacks to complete. */
  timeoutMs: number;
  /** The longest one Engine call may take. */
  callMs?: number;
  /** How often to look; default 250 ms. */
  intervalMs?: number;
  /** Leave the services the deploy created (a failed first version stays for `logs`); default: remove them. */
  keepCreated?: boolean;
}

interface ServiceInfo {
  ID: string;
  CreatedAt?: string;
  UpdatedAt?: string;
  Version?: { Index?: number };
  Spec: { Name: string };
  PreviousSpec?: object;
  UpdateStatus?: { State?: string; StartedAt?: string; Message?: string };
}

const ROLLING_BACK = new Set(['rollback_started', 'rollback_completed', 'rollback_paused']);

/**
 * Undoes what a stopped deploy did to stack `stack` since `options.since`: every service it updated is rolled
 * back to its previous spec through the Engine's own rollback (`POST /services/{id}/update?rollback=previous`,
 * as `docker service rollback` does), every service it created is removed (unless `keepCreated`), and the rollbacks are waited for until
 * swarm reports each completed, paused or the time-out passes. A service swarm already rolls back on its own is
 * left to it (a second rollback would bring the new version back). Services the deploy pruned are not brought
 * back. Never throws for one service: what could not be undone is in `failed`.
 * @throws when the services cannot be listed.
 */
export async function rollBackStack(docker: Docker, stack: string, options: RollbackOptions): Promise<StackRollback> {
  const limits: CallLimits = options.callMs === undefined ? {} : { callMs: options.callMs };
  const done: StackRollback = { rolledBack: [], removed: [], alreadyRollingBack: [], failed: [] };
  const pending = new Map<string, string>();
  const issued = new Date();
  for (const service of await listStack(docker, stack, limits)) {
    const name = service.Spec.Name;
    const changedNow = (at: string | undefined) => at !== undefined && new Date(at) >= options.since;
    try {
      if (changedNow(service.CreatedAt)) {
        if (options.keepCreated) continue;
        await limitedCall(limits, `remove ${name}`, () => docker.getService(service.ID).remove());
        done.removed.push(name);
      } else if (changedNow(service.UpdateStatus?.StartedAt) && ROLLING_BACK.has(service.UpdateStatus?.State ?? '')) {
        done.alreadyRollingBack.push(name);
      } else if (changedNow(service.UpdatedAt) && service.PreviousSpec) {
        await limitedCall(limits, `rollback ${name}`, (signal) =>
          engineRequest(docker, {
            path: `/services/${service.ID}/update?`,
            method: 'POST',
            options: { _query: { version: service.Version?.Index ?? 0, rollback: 'previous' }, _body: service.Spec },
            ...(signal && { abortSignal: signal }),
            statusCodes: { 200: true, 400: 'bad parameter', 404: 'no such service', 500: 'server error' },
          }),
        );
        pending.set(service.ID, name);
      }
    } catch (error) {
      done.failed.push({ service: name, reason: (error as Error).message });
    }
  }
  const deadline = Date.now() + options.timeoutMs;
  while (pending.size > 0) {
    for (const service of await listStack(docker, stack, limits)) {
      const name = pending.get(service.ID);
      const update = service.UpdateStatus;
      if (name === undefined || !update?.StartedAt || new Date(update.StartedAt) < issued) continue;
      if (update.State === 'rollback_completed') done.rolledBack.push(name);
      else if (update.State === 'rollback_paused' || update.State === 'paused') {
        done.failed.push({ service: name, reason: update.Message ?? `rollback ${update.State}` });
      } else continue;
      pending.delete(service.ID);
    }
    if (pending.size > 0 && Date.now() > deadline) {
      for (const name of pending.values()) {
        done.failed.push({
          service: name,
          reason: `rollback not completed after ${Math.round(options.timeoutMs / 1000)} s`,
        });
      }
      break;
    }
    if (pending.size > 0) await sleep(options.intervalMs ?? 250);
  }
  return done;
}

async function listStack(docker: Docker, stack: string, limits: CallLimits): Promise<ServiceInfo[]> {
  return (await limitedCall(limits, 'the service list', (signal) =>
    docker.listServices({
      filters: { label: [`com.docker.stack.namespace=${stack}`] },
      ...(signal && { abortSignal: signal }),
    }),
  )) as ServiceInfo[];
}
