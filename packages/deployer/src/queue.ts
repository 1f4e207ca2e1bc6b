/**
 * How a queued job ended for its caller: it ran (with its value), a newer request took its place, or it was
 * cancelled before it started.
 */
export type QueueOutcome<T> = { status: 'completed'; value: T } | { status: 'superseded' } | { status: 'cancelled' };

/** A job: it is handed a signal that aborts when the job is cancelled, and must then end soon. */
export type QueueJob<T> = (signal: AbortSignal) => Promise<T>;

/** What {@link DeployQueue.cancel} found for a key. */
export interface QueueCancel {
  /** Resolves once the running job, told to stop, has ended and its turn is free; undefined when none ran. */
  running?: Promise<void>;
  /** Whether a waiting request was dropped (its caller answered `cancelled`). */
  dropped: boolean;
}

interface Waiting<T> {
  job: QueueJob<T>;
  settle: (outcome: Promise<QueueOutcome<T>> | QueueOutcome<T>) => void;
}

interface Running {
  abort: AbortController;
  ended: Promise<void>;
}

/**
 * Runs jobs one per key (per app) at a time, and at most `limit` keys at once. While a key's job runs, one more
 * request for it may wait: a newer request takes the place of the waiting one, whose caller is answered
 * `{status: "superseded"}` at once. A running job is interrupted only by {@link cancel}, through its signal; its
 * key's turn and its slot are free as soon as the job has ended (resolved or rejected). Keys start in the order
 * their first waiting request came. Every caller gets an answer: the job's value, `superseded`, `cancelled`, or
 * the job's error.
 */
export class DeployQueue<T> {
  private readonly running = new Map<string, Running>();
  private readonly waiting = new Map<string, Waiting<T>>();

  /** @throws RangeError unless `limit` is a whole number of at least 1. */
  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`the deploy limit must be 1 or more, not ${limit}`);
  }

  /**
   * Queues `job` for `key`. Resolves with `{status: "completed", value}` once it has run, with
   * `{status: "superseded"}` when a newer request for the key replaced it before it started, or with
   * `{status: "cancelled"}` when {@link cancel} dropped it before it started.
   * @throws (rejects with) whatever the job threw or rejected with; the queue goes on with the next job.
   */
  run(key: string, job: QueueJob<T>): Promise<QueueOutcome<T>> {
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

  /**
   * Cancels what `key` has in the queue: the waiting request is dropped, and the running job's signal aborts with
   * `reason`. The turn frees when that job ends; `running` resolves then.
   */
  cancel(key: string, reason: Error): QueueCancel {
    const waiting = this.waiting.get(key);
    if (waiting) {
      this.waiting.delete(key);
      waiting.settle({ status: 'cancelled' });
    }
    const running = this.running.get(key);
    running?.abort.abort(reason);
    return { dropped: waiting !== undefined, ...(running && { running: running.ended }) };
  }

  private startNext(): void {
    for (const [key, waiting] of this.waiting) {
      if (this.running.size >= this.limit) return;
      if (this.running.has(key)) continue;
      this.waiting.delete(key);
      const abort = new AbortController();
      const outcome = new Promise<T>((resolve) => {
        resolve(waiting.job(abort.signal));
      }).then((value): QueueOutcome<T> => ({ status: 'completed', value }));
      const free = (): void => {
        this.running.delete(key);
        this.startNext();
      };
      this.running.set(key, { abort, ended: outcome.then(free, free) });
      waiting.settle(outcome);
    }
  }
}
