import type { Logger } from '@swarmlet/common';
import Koa from 'koa';
import { accessLog } from './access-log.js';
import { deferredBodies } from './api/deferred-body.js';
import { apiRouter, unmatched } from './api/routes.js';
import { createAuthMiddleware } from './auth/basic-auth.js';
import type { RegistryConfig } from './config.js';
import { errorMiddleware, isClientGone } from './errors.js';
import { metricsEndpoint, type Metrics } from './metrics.js';
import type { Notifier } from './notifications/notifier.js';
import { FilesystemDriver } from './storage/filesystem.js';
import { createStores, type Stores } from './stores.js';

/** What the application reports besides its answers. */
export interface AppHooks {
  /**
   * Called with an unexpected error so it can be logged: one answered 500 UNKNOWN (with its request), or one
   * raised while a response streamed (without). A client that went away mid-response is not an error.
   */
  onUnexpectedError?: (error: unknown, ctx: Koa.Context | undefined) => void;
  /** Where each request is logged (see `access-log.ts`); without it, requests are not logged. */
  log?: Logger;
  /** Counts requests and serves `GET /metrics` (behind the auth); without it there is no `/metrics`. */
  metrics?: Metrics;
  /** Queues the events of pushes, pulls and deletes for the notification endpoints. */
  notifier?: Notifier;
}

/**
 * Builds the registry's Koa application over its stores (by default, the filesystem driver on
 * `storage.filesystem.rootdirectory`). The application owns no socket; the caller listens
 * (see `server.ts`) or hands `app.callback()` to a test client. Every answer carries
 * `Docker-Distribution-API-Version: registry/2.0` and the configured `http.headers`. With `auth.htpasswd`,
 * every request needs valid Basic credentials, `/v2/` and `/metrics` included.
 * @throws ConfigError naming `auth.htpasswd.path` when the htpasswd file is unusable.
 */
export function createRegistryApp(
  config: RegistryConfig,
  stores: Stores = createStores(new FilesystemDriver(config.storage.filesystem.rootdirectory)),
  hooks: AppHooks = {},
): Koa {
  const app = new Koa();
  if (hooks.metrics) app.use(hooks.metrics.middleware());
  app.on('error', (error: NodeJS.ErrnoException) => {
    if (!isClientGone(error)) hooks.onUnexpectedError?.(error, undefined);
  });
  const headers = { ...config.http.headers, 'Docker-Distribution-API-Version': ['registry/2.0'] };
  app.use(async (ctx, next) => {
    for (const [name, values] of Object.entries(headers)) ctx.set(name, values);
    await next();
  });
  app.use(errorMiddleware(hooks.onUnexpectedError ?? (() => undefined)));
  app.use(deferredBodies());
  const requestLog = hooks.log && accessLog(hooks.log, config);
  if (requestLog) app.use(requestLog);
  const auth = createAuthMiddleware(config, hooks.metrics);
  if (auth) app.use(auth);
  if (hooks.metrics) app.use(metricsEndpoint(hooks.metrics));
  if (hooks.notifier?.active) app.use(hooks.notifier.middleware());
  const router = apiRouter(stores, { deleteEnabled: config.storage.delete.enabled });
  const fallback = unmatched(router);
  app.use(fallback.before);
  app.use(router.routes());
  app.use(fallback.after);
  return app;
}
