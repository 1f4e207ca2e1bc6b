import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@swarmlet/common';
import type Koa from 'koa';
import type { RegistryConfig } from '../config.js';
import { EndpointQueue, type DeliveryCounters } from './endpoint-queue.js';
import { buildEvent, recordedAction, type RegistryAction } from './events.js';

type EndpointConfig = RegistryConfig['notifications']['endpoints'][number];

/** The folder below the storage root that holds the notification queues; outside the CNCF tree. */
export const NOTIFICATION_QUEUES_DIR = 'swarmlet/notifications';

/**
 * Tells the configured `notifications.endpoints` what the registry did. Each push, pull, mount or delete that a
 * handler recorded and that was answered with success becomes one event, queued on disk for every enabled
 * endpoint that does not ignore its action or media type, before the client gets its answer; each endpoint's
 * queue then delivers on its own (see `EndpointQueue`). A queue that cannot be written is logged and never fails
 * the request.
 */
export class Notifier {
  private readonly queues: { config: EndpointConfig; queue: EndpointQueue }[];
  private readonly source: { addr: string; instanceID: string };

  constructor(
    config: RegistryConfig,
    private readonly log: Logger,
    counters?: DeliveryCounters,
  ) {
    const root = join(config.storage.filesystem.rootdirectory, NOTIFICATION_QUEUES_DIR);
    this.source = { addr: `${hostname()}:${String(config.http.addr.port)}`, instanceID: randomUUID() };
    this.queues = config.notifications.endpoints
      .filter((endpoint) => !endpoint.disabled)
      .map((endpoint) => ({
        config: endpoint,
        queue: new EndpointQueue(
          join(root, endpoint.name),
          {
            name: endpoint.name,
            url: endpoint.url,
            headers: endpoint.headers,
            timeoutMs: endpoint.timeout,
            threshold: endpoint.threshold,
            backoffMs: endpoint.backoff,
          },
          log,
          counters,
        ),
      }));
  }

  /** Whether any endpoint is enabled. */
  get active(): boolean {
    return this.queues.length > 0;
  }

  /** The middleware that queues the events of answered requests; place it before the API routes. */
  middleware(): Koa.Middleware {
    return async (ctx, next) => {
      await next();
      const action = recordedAction(ctx);
      if (!action || ctx.status >= 400) return;
      const event = buildEvent(ctx, action, this.source);
      await Promise.all(
        this.queues
          .filter(({ config }) => wants(config, action))
          .map(({ config, queue }) =>
            queue.enqueue(event).catch((error: unknown) => {
              this.log.error({ err: error, endpoint: config.name }, 'cannot queue a notification');
            }),
          ),
      );
    };
  }

  /** Starts every endpoint's deliveries. */
  start(): void {
    for (const { queue } of this.queues) queue.start();
  }

  /** Stops every endpoint's deliveries; queued events stay on disk. */
  async stop(): Promise<void> {
    await Promise.all(this.queues.map(({ queue }) => queue.stop()));
  }

  /** Events waiting, by endpoint name. */
  async pending(): Promise<Record<string, number>> {
    const entries = await Promise.all(
      this.queues.map(async ({ config, queue }) => [config.name, await queue.pending()] as const),
    );
    return Object.fromEntries(entries);
  }
}

function wants(endpoint: EndpointConfig, action: RegistryAction): boolean {
  if (endpoint.ignore.actions.includes(action.action)) return false;
  const mediaType = action.mediaType ?? '';
  return !endpoint.ignoredmediatypes.includes(mediaType) && !endpoint.ignore.mediatypes.includes(mediaType);
}
