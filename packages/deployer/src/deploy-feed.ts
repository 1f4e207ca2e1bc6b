import type { DeployStatus } from './history.js';

/** A deploy as the feed announces it when it starts. */
export interface FeedDeploy {
  id: string;
  commit: string;
  branch: string;
  startedAt: string;
  trigger?: string;
}

/** One event of an app's deploys, as {@link DeployFeed} hands it to listeners. */
export type FeedEvent =
  | { type: 'started'; deploy: FeedDeploy }
  | { type: 'line'; id: string; line: string }
  | { type: 'finished'; id: string; status: DeployStatus };

/** What a new listener is told first: the app's running deploy, if any, with every line it logged so far. */
export interface FeedSnapshot {
  running?: { deploy: FeedDeploy; lines: string[]; dropped: number };
}

/** The most lines of a running deploy the feed keeps for listeners that join late; older ones are counted. */
export const FEED_BACKLOG_LINES = 50_000;

interface Running {
  deploy: FeedDeploy;
  lines: string[];
  dropped: number;
}

/**
 * The live deploys of every app, for the dashboard: the deployer reports each deploy's start, log lines and end,
 * whoever started it (a `git push`, a verb, the dashboard), and listeners of an app get them as they happen. A
 * listener that joins while a deploy runs first gets its lines so far (up to {@link FEED_BACKLOG_LINES}, the oldest
 * dropped and counted), with nothing lost or repeated between that snapshot and the live events. Held in memory.
 */
export class DeployFeed {
  private readonly running = new Map<string, Running>();
  private readonly listeners = new Map<string, Set<(event: FeedEvent) => void>>();

  /**
   * Calls `listener` with every later event of `app` until the returned `stop` is called; returns the snapshot of
   * the deploy running now.
   */
  subscribe(app: string, listener: (event: FeedEvent) => void): { snapshot: FeedSnapshot; stop: () => void } {
    const set = this.listeners.get(app) ?? new Set();
    this.listeners.set(app, set);
    set.add(listener);
    const current = this.running.get(app);
    return {
      snapshot: current ? { running: { ...current, lines: [...current.lines] } } : {},
      stop: () => {
        set.delete(listener);
        if (set.size === 0) this.listeners.delete(app);
      },
    };
  }

  /** Reports that a deploy of `app` started. */
  started(app: string, deploy: FeedDeploy): void {
    this.running.set(app, { deploy, lines: [], dropped: 0 });
    this.emit(app, { type: 'started', deploy });
  }

  /** Reports one log line of the deploy `id` of `app`. */
  line(app: string, id: string, line: string): void {
    const current = this.running.get(app);
    if (current?.deploy.id === id) {
      current.lines.push(line);
      if (current.lines.length > FEED_BACKLOG_LINES) {
        current.lines.shift();
        current.dropped += 1;
      }
    }
    this.emit(app, { type: 'line', id, line });
  }

  /** Reports that the deploy `id` of `app` ended with `status`. */
  finished(app: string, id: string, status: DeployStatus): void {
    if (this.running.get(app)?.deploy.id === id) this.running.delete(app);
    this.emit(app, { type: 'finished', id, status });
  }

  private emit(app: string, event: FeedEvent): void {
    for (const listener of this.listeners.get(app) ?? []) {
      try {
        listener(event);
      } catch {
        // a listener's failure is its own; the deploy and the other listeners go on
      }
    }
  }
}
