/** How a queued job ended for its caller: it ran (with its value), or a newer request took its place. */
export type QueueOutcome<T> = { status: 'completed'; value: T } | { status: 'superseded' };

interface Waiting<T> {
  job: () => Promise<T>;
  settle: (outcome: Promise<QueueOutcome<T>> | QueueOutcome<T>) => void;
}

/**
 * Runs jobs one per key (per app) at a time, and at most `limit` keys at once. While a key's job runs, one more
 * request for it may wait: a newer request takes the place of the waiting one, whose caller is answered
 * `{status: "superseded"}` at once; a running job is never interrupted. Keys start in the order their first
 * waiting request came. Every caller gets an answer: the job's value, `superseded`, or the job's error.
 */
export class DeployQueue<T> {
  private readonly running = new Set<string>();
  private readonly waiting = new Map<string, Waiting<T>>();

  /** @throws RangeError unless `limit` is a whole number of at least 1. */
  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`the deploy limit must be 1 or more, not ${limit}`);
  }

  /**
   * Queues `job` for `key`. Resolves with `{status: "completed", value}` once it has run, or with
   * `{status: "superseded"}` when a newer request for the key replaced it before it started.
   * @throws (rejects with) whatever the job threw or rejected with; the queue goes on with the next job.
   */
  run(key: string, job: () => Promise<T>): Promise<QueueOutcome<T>> {
    return new Promise<QueueOutcome<T>>((resolve) => {
      this.waiting.get(key)?.settle({ status: 'superseded' });
      this.waiting.set(key, { job, settle: resolve });
      this.startNext();
    });
  }

  /** Whether a job for `key` runs or waits. */
  busy(key: string): boolean {
    return this.running.has(key) || this.waiting.has(key);
  }

  private startNext(): void {
    for (const [key, waiting] of this.waiting) {
      if (this.running.size >= this.limit) return;
      if (this.running.has(key)) continue;
      this.waiting.delete(key);
      this.running.add(key);
      const outcome = new Promise<T>((resolve) => {
        resolve(waiting.job());
      }).then((value): QueueOutcome<T> => ({ status: 'completed', value }));
      waiting.settle(outcome);
      void outcome
        .catch(() => undefined)
        .finally(() => {
          this.running.delete(key);
          this.startNext();
        });
    }
  }
}
