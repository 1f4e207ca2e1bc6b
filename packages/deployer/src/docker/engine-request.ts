import type Docker from 'dockerode';
import type DockerModem from 'docker-modem';
import { formatDuration } from '../deploy-limits.js';
import { DeployStopped } from '../deploy-stop.js';

/**
 * One Engine API request through dockerode's connection (socket, TLS or TCP as configured), for the endpoints
 * and query parameters dockerode does not expose. Resolves with what docker-modem answers: parsed JSON, a
 * readable stream when `isStream`, or the upgraded socket when `hijack`.
 * @throws the engine's error (with its status code) when it answers outside `statusCodes`.
 */
export function engineRequest(docker: Docker, options: DockerModem.DialOptions): Promise<unknown> {
  return new Promise((resolve, reject) => {
    docker.modem.dial(options, (error, result) => {
      if (error) reject(error);
      else resolve(result);
    });
  });
}

/** What bounds an Engine call: the deploy's signal (a cancel, a step's deadline) and the longest one call takes. */
export interface CallLimits {
  signal?: AbortSignal;
  /** `SWARMLET_ENGINE_TIMEOUT`, in milliseconds. */
  callMs?: number;
}

/**
 * Runs one Engine call, `call`, with a signal that aborts when `limits.signal` does or `limits.callMs` pass; the
 * call hands it to dockerode (`abortSignal`), which closes the request. Without limits the call runs as it is.
 * @throws `limits.signal`'s reason when it aborted; DeployStopped (`timed-out`, naming `what` and
 * SWARMLET_ENGINE_TIMEOUT) when the call took too long; the call's own error otherwise.
 */
export async function limitedCall<T>(
  limits: CallLimits | undefined,
  what: string,
  call: (signal: AbortSignal | undefined) => Promise<T>,
): Promise<T> {
  const timeout = limits?.callMs === undefined ? undefined : AbortSignal.timeout(limits.callMs);
  const parts = [limits?.signal, timeout].filter((part): part is AbortSignal => part !== undefined);
  const signal = parts.length === 0 ? undefined : AbortSignal.any(parts);
  try {
    return await abortable(call(signal), signal);
  } catch (error) {
    if (limits?.signal?.aborted) throw limits.signal.reason;
    if (timeout?.aborted) {
      throw new DeployStopped(
        'timed-out',
        `the Docker engine did not answer ${what} within ${formatDuration(limits?.callMs ?? 0)} (SWARMLET_ENGINE_TIMEOUT)`,
      );
    }
    throw error;
  }
}

/**
 * Settles as `work` does, or rejects with `signal`'s reason as soon as it aborts (also when it already has). The
 * work itself is not stopped here: hand the signal to it as well.
 */
export function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const stop = (): void => {
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
    work.then(resolve, reject).finally(() => {
      signal.removeEventListener('abort', stop);
    });
  });
}
