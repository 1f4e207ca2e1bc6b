import { readFileSync } from 'node:fs';

/** Wall-clock seconds that `work` took. */
export async function seconds(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** What `repeat` measured: the wall-clock seconds of the whole run and each call's latency in milliseconds. */
export interface Repetitions {
  seconds: number;
  latenciesMs: number[];
}

/**
 * Calls `once` exactly `total` times with `concurrency` calls in flight, and measures them. Rejects with the first
 * failure (the calls in flight then finish, no new one starts).
 */
export async function repeat(total: number, concurrency: number, once: () => Promise<void>): Promise<Repetitions> {
  const latenciesMs: number[] = [];
  let started = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (started < total && !failed) {
      started += 1;
      const start = process.hrtime.bigint();
      try {
        await once();
      } catch (error) {
        failed = true;
        throw error;
      }
      latenciesMs.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  };
  const elapsed = await seconds(() => Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker)));
  return { seconds: elapsed, latenciesMs };
}

/** The `fraction` quantile (0.5, 0.99, …) of `values`, nearest-rank; NaN for none. */
export function quantile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))] ?? Number.NaN;
}

/** A process's peak resident set size (`VmHWM` in `/proc/<pid>/status`) in MiB. */
export function peakRssMiB(pid: number): number {
  return memoryMiB(pid, 'VmHWM');
}

/** A process's resident set size now (`VmRSS` in `/proc/<pid>/status`) in MiB. */
export function rssMiB(pid: number): number {
  return memoryMiB(pid, 'VmRSS');
}

function memoryMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  if (!match?.[1]) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) / 1024;
}
