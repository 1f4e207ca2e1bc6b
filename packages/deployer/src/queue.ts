/** What a queued job was answered with when a newer request for the same key took its place. */
export const SUPERSEDED: unique symbol = Symbol('superseded');

interface Waiting<T> {
  job: () => Promise<T>;
  resolve: (value: T | typeof SUPERSEDED) => void;
  reject: (error: unknown) => void;
}

/**
 * Runs jobs with one job per key (per app) at a time and at most `limit` keys at once. While a key's job runs,
 * one more may wait: a newer request replaces a waiting one, which is answered {@link SUPERSEDED}. Every caller
 * gets an answer: the job's value, its error, or {@link SUPERSEDED}.
 */
export class DeployQueue<T> {
  private readonly running = new Set<string>();
  private readonly waiting = new Map<string, Waiting<T>>();

  constructor(private readonly limit: number) {}

  /** Queues `job` for `key`; resolves with its value or {@link SUPERSEDED}, rejects with its error. */
  run(key: string, job: () => Promise<T>): Promise<T | typeof SUPERSEDED> {
    return new Promise((resolve, reject) => {
      this.waiting.get(key)?.resolve(SUPERSEDED);
      this.waiting.set(key, { job, resolve, reject });
      this.next();
    });
  }

  /** Whether a job for `key` is running or waiting. */
  busy(key: string): boolean {
    return this.running.has(key) || this.waiting.has(key);
  }

  private next(): void {
    for (const [key, waiting] of this.waiting) {
      if (this.running.size >= this.limit) return;
      if (this.running.has(key)) continue;
      this.waiting.delete(key);
      this.running.add(key);
      const settle = (answer: () => void): void => {
        this.running.delete(key);
        this.next();
        answer();
      };
      waiting.job().then(
        (value) => {
          settle(() => {
            waiting.resolve(value);
          });
        },
        (error: unknown) => {
          settle(() => {
            waiting.reject(error);
          });
        },
      );
    }
  }
}
