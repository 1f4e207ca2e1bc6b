import { formatDuration, type LimitKey } from './deploy-limits.js';

/** How a deploy that was stopped before its end is recorded: a time limit passed, or someone cancelled it. */
export type StopOutcome = 'timed-out' | 'cancelled';

/**
 * Why a deploy was stopped: the reason its AbortSignal carries. The message is one line for the pusher, and the
 * pipeline puts the step in front of it (`build: stopped after 30 min (SWARMLET_BUILD_TIMEOUT)`).
 */
export class DeployStopped extends Error {
  constructor(
    readonly outcome: StopOutcome,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'DeployStopped';
  }
}

/** The limit set by `key` to `ms`, whose reason is `stopped after 30 min (SWARMLET_BUILD_TIMEOUT)`. */
export function timeLimit(key: LimitKey, ms: number): TimeLimit {
  return { ms, reason: () => new DeployStopped('timed-out', `stopped after ${formatDuration(ms)} (${key})`) };
}

/** The reason for `cancel APP`: `cancelled by <who> (cancel APP)`. */
export function cancelledBy(app: string, by: string | undefined): DeployStopped {
  return new DeployStopped('cancelled', `cancelled by ${by ?? 'the server'} (\`cancel ${app}\`)`);
}

/** A signal that aborts with its parent, or with `reason()` once `ms` have passed; `clear` stops the clock. */
export interface Deadline {
  signal: AbortSignal;
  clear(): void;
}

/** A time limit and the reason a deadline aborts with when it passes. */
export interface TimeLimit {
  ms: number;
  reason: () => Error;
}

/**
 * A deadline under `parent`: its signal aborts with `parent`'s reason when `parent` aborts, and with
 * `limit.reason()` once `limit.ms` have passed (never without a limit). Call `clear` when the work ends, so
 * nothing keeps the process alive.
 */
export function deadline(parent: AbortSignal, limit: TimeLimit | undefined): Deadline {
  const controller = new AbortController();
  const follow = (): void => {
    controller.abort(parent.reason);
  };
  if (parent.aborted) follow();
  else parent.addEventListener('abort', follow, { once: true });
  const timer =
    limit &&
    setTimeout(() => {
      controller.abort(limit.reason());
    }, limit.ms);
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      parent.removeEventListener('abort', follow);
    },
  };
}

/** The stop behind `error` when it is one, or when the error came from work that `signal` aborted. */
export function stopOf(error: unknown, signal?: AbortSignal): DeployStopped | undefined {
  if (error instanceof DeployStopped) return error;
  if (error instanceof Error && error.cause !== undefined && error.cause !== error) {
    const inner = stopOf(error.cause);
    if (inner) return inner;
  }
  return signal?.aborted && signal.reason instanceof DeployStopped ? signal.reason : undefined;
}
