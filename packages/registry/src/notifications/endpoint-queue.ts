import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@swarmlet/common';
import type { RegistryEvent } from './events.js';

/** The media type of the notification envelope. */
export const EVENTS_MEDIA_TYPE = 'application/vnd.docker.distribution.events.v1+json';

/** Where and how one endpoint is told. */
export interface EndpointSettings {
  name: string;
  url: string;
  /** Sent with every delivery; never logged (they often hold credentials). */
  headers: Record<string, string[]>;
  timeoutMs: number;
  /** Failures in a row after which deliveries wait `backoffMs` between tries; before that they wait 100 ms. */
  threshold: number;
  backoffMs: number;
}

/** What a queue counts, for the metrics. */
export interface DeliveryCounters {
  delivered(endpoint: string): void;
  failed(endpoint: string): void;
}

const QUICK_RETRY_MS = 100;

/**
 * The events waiting for one endpoint, kept on disk in `dir` (one file per event, written to a temporary name
 * and renamed, named so that they sort in the order they were queued, across restarts too) and delivered in that
 * order, one POST per event, until the endpoint answers 2xx or 3xx. A failed delivery is retried, after
 * {@link EndpointSettings.backoffMs} once `threshold` have failed in a row, so an event is never dropped: the
 * delivery is at least once (an event whose answer was lost in a crash is sent again after the restart).
 */
export class EndpointQueue {
  private sequence = 0;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Ends the wait for work while the queue is empty. */
  private idle: (() => void) | undefined;
  /** Ends a wait between failed deliveries; only a stop does. */
  private interruptBackoff: (() => void) | undefined;
  /** Set when an event arrives while the loop is busy, so its next wait for work ends at once. */
  private woken = false;

  constructor(
    private readonly dir: string,
    private readonly settings: EndpointSettings,
    private readonly log: Logger,
    private readonly counters?: DeliveryCounters,
  ) {}

  /** Writes `event` to the queue; resolves once it is on disk. */
  async enqueue(event: RegistryEvent): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    this.sequence += 1;
    const name = `${String(Date.now()).padStart(15, '0')}-${String(this.sequence).padStart(9, '0')}.json`;
    const temporary = join(this.dir, `.${name}.tmp`);
    await writeFile(temporary, JSON.stringify({ events: [event] }));
    await rename(temporary, join(this.dir, name));
    if (this.idle) this.idle();
    else this.woken = true;
  }

  /** How many events wait for delivery. */
  async pending(): Promise<number> {
    return (await this.queued()).length;
  }

  /** Starts delivering, the events left by an earlier run first. */
  start(): void {
    this.stopped = false;
    this.running ??= this.deliverAll();
  }

  /** Stops after the delivery under way; what is still queued stays on disk for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.idle?.();
    this.interruptBackoff?.();
    await this.running;
    this.running = undefined;
  }

  private async deliverAll(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      const [next] = await this.queued();
      if (next === undefined) {
        await this.waitForWork();
        continue;
      }
      const path = join(this.dir, next);
      if (await this.deliver(await readFile(path))) {
        await rm(path, { force: true });
        failures = 0;
        this.counters?.delivered(this.settings.name);
      } else {
        failures += 1;
        this.counters?.failed(this.settings.name);
        await this.backOff(failures >= this.settings.threshold ? this.settings.backoffMs : QUICK_RETRY_MS);
      }
    }
  }

  private async deliver(body: Buffer): Promise<boolean> {
    const headers: Record<string, string> = {};
    for (const [name, values] of Object.entries(this.settings.headers)) headers[name] = values.join(', ');
    headers['Content-Type'] = EVENTS_MEDIA_TYPE;
    try {
      const response = await fetch(this.settings.url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.status >= 200 && response.status < 400) return true;
      this.log.warn(
        { endpoint: this.settings.name, status: response.status },
        'notification endpoint refused an event',
      );
    } catch (error) {
      this.log.warn(
        { endpoint: this.settings.name, reason: (error as Error).message },
        'notification endpoint unreachable; will retry',
      );
    }
    return false;
  }

  private async queued(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => []);
    return names.filter((name) => name.endsWith('.json') && !name.startsWith('.')).sort();
  }

  private waitForWork(): Promise<void> {
    if (this.woken || this.stopped) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.idle = () => {
        this.idle = undefined;
        resolve();
      };
    });
  }

  private backOff(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.interruptBackoff = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.interruptBackoff = done;
    });
  }
}
