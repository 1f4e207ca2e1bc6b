import type { Socket } from 'node:net';
import type Koa from 'koa';
import type { ThrottleCounter } from './auth/basic-auth.js';
import { RegistryError } from './errors.js';
import type { DeliveryCounters } from './notifications/endpoint-queue.js';

/** The path `/metrics` is served on, behind the same auth as the API. */
export const METRICS_PATH = '/metrics';

const ROUTES: [string, RegExp][] = [
  ['base', /^\/v2\/?$/],
  ['catalog', /^\/v2\/_catalog$/],
  ['upload', /^\/v2\/.+\/blobs\/uploads(\/[^/]*)?$/],
  ['blob', /^\/v2\/.+\/blobs\/[^/]+$/],
  ['manifest', /^\/v2\/.+\/manifests\/[^/]+$/],
  ['tags', /^\/v2\/.+\/tags\/list$/],
  ['referrers', /^\/v2\/.+\/referrers\/[^/]+$/],
  ['metrics', /^\/metrics$/],
];

/** The route a request path belongs to, for labels (never the repository name, which is unbounded). */
export function routeOf(path: string): string {
  return ROUTES.find(([, pattern]) => pattern.test(path))?.[0] ?? 'other';
}

interface Series {
  help: string;
  type: 'counter' | 'gauge';
  values: Map<string, number>;
}

/**
 * The registry's metrics in Prometheus' text format: requests by route, method and status, bytes received and
 * sent (as counted on the connection, headers included), uploads in flight, garbage collections and upload
 * purges done by the schedule (runs, blobs and bytes freed), notification deliveries by endpoint, and logins
 * refused by the login throttle.
 */
export class Metrics implements DeliveryCounters, ThrottleCounter {
  private readonly series = new Map<string, Series>();

  constructor() {
    this.define('registry_http_requests_total', 'counter', 'HTTP requests answered, by route, method and status.');
    this.define('registry_http_received_bytes_total', 'counter', 'Bytes received on request connections.');
    this.define('registry_http_sent_bytes_total', 'counter', 'Bytes sent on request connections.');
    this.define('registry_uploads_in_flight', 'gauge', 'Blob upload requests being received now.');
    this.define('registry_gc_runs_total', 'counter', 'Scheduled garbage collections, by outcome.');
    this.define('registry_gc_freed_blobs_total', 'counter', 'Blobs removed by scheduled garbage collections.');
    this.define('registry_gc_freed_bytes_total', 'counter', 'Bytes freed by scheduled garbage collections.');
    this.define('registry_upload_purges_total', 'counter', 'Abandoned uploads removed by upload purging.');
    this.define('registry_notifications_total', 'counter', 'Notification deliveries, by endpoint and outcome.');
    this.define('registry_auth_throttled_total', 'counter', 'Logins refused with 429 after too many failures.');
    this.set('registry_uploads_in_flight', {}, 0);
    this.set('registry_auth_throttled_total', {}, 0);
  }

  /** Adds `amount` to the series `name` with `labels`. */
  add(name: string, labels: Record<string, string>, amount = 1): void {
    const series = this.get(name);
    const key = labelText(labels);
    series.values.set(key, (series.values.get(key) ?? 0) + amount);
  }

  /** Sets the gauge `name` with `labels`. */
  set(name: string, labels: Record<string, string>, value: number): void {
    this.get(name).values.set(labelText(labels), value);
  }

  delivered(endpoint: string): void {
    this.add('registry_notifications_total', { endpoint, outcome: 'delivered' });
  }

  failed(endpoint: string): void {
    this.add('registry_notifications_total', { endpoint, outcome: 'failed' });
  }

  throttled(): void {
    this.add('registry_auth_throttled_total', {});
  }

  /**
   * The middleware that counts every request; place it first, so errors answered later are counted too. Bytes
   * are what the connection read and wrote since the previous request on it ended, so a body that Node had
   * already read when the request reached the middleware is counted too.
   */
  middleware(): Koa.Middleware {
    let uploads = 0;
    const counted = new WeakMap<Socket, { read: number; written: number }>();
    return async (ctx, next) => {
      const socket = ctx.req.socket;
      const route = routeOf(ctx.path);
      const upload = route === 'upload' && ctx.method !== 'GET' && ctx.method !== 'DELETE';
      if (upload) this.set('registry_uploads_in_flight', {}, ++uploads);
      ctx.res.once('close', () => {
        if (upload) this.set('registry_uploads_in_flight', {}, --uploads);
        const before = counted.get(socket) ?? { read: 0, written: 0 };
        const now = { read: socket.bytesRead, written: socket.bytesWritten };
        counted.set(socket, now);
        this.add('registry_http_requests_total', { route, method: ctx.method, status: String(ctx.status) });
        this.add('registry_http_received_bytes_total', { route }, Math.max(0, now.read - before.read));
        this.add('registry_http_sent_bytes_total', { route }, Math.max(0, now.written - before.written));
      });
      await next();
    };
  }

  /** Every series in the text exposition format. */
  render(): string {
    const lines: string[] = [];
    for (const [name, series] of this.series) {
      lines.push(`# HELP ${name} ${series.help}`, `# TYPE ${name} ${series.type}`);
      for (const [labels, value] of series.values) lines.push(`${name}${labels} ${String(value)}`);
    }
    return `${lines.join('\n')}\n`;
  }

  private define(name: string, type: Series['type'], help: string): void {
    this.series.set(name, { help, type, values: new Map() });
  }

  private get(name: string): Series {
    const series = this.series.get(name);
    if (!series) throw new Error(`no metric ${name}`);
    return series;
  }
}

/** Serves `GET /metrics` from `metrics` (other methods: 405 UNSUPPORTED); every other path goes on. */
export function metricsEndpoint(metrics: Metrics): Koa.Middleware {
  return async (ctx, next) => {
    if (ctx.path !== METRICS_PATH) {
      await next();
      return;
    }
    if (ctx.method !== 'GET')
      throw new RegistryError('UNSUPPORTED', { reason: 'method not allowed for this resource' });
    ctx.type = 'text/plain; version=0.0.4';
    ctx.body = metrics.render();
  };
}

function labelText(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  const escape = (value: string) => value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
  return `{${entries.map(([key, value]) => `${key}="${escape(value)}"`).join(',')}}`;
}
