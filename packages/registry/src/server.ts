import { createServer, type Server } from 'node:http';
import { closeServer, listen, type Logger } from '@swarmlet/common';
import { createRegistryApp } from './app.js';
import type { RegistryConfig } from './config.js';
import { MaintenanceSchedule } from './maintenance.js';
import { Metrics } from './metrics.js';
import { Notifier } from './notifications/notifier.js';
import { FilesystemDriver } from './storage/filesystem.js';
import { createStores } from './stores.js';
import { createTlsServer, type TlsWatchOptions } from './tls.js';

/**
 * A listening registry. `close()` stops accepting connections, resolves once open ones are done and the
 * notification deliveries and scheduled maintenance have stopped (queued events stay on disk).
 */
export interface RunningRegistry {
  /** An `https.Server` when `http.tls` is configured, a plain HTTP server otherwise. */
  server: Server;
  /** The bound port (useful when `http.addr` asked for port 0). */
  port: number;
  close(): Promise<void>;
}

/** Tuning for {@link startRegistry}. */
export interface StartOptions {
  /** How the `http.tls` files are watched for renewal. */
  tls?: TlsWatchOptions;
}

/**
 * Starts the registry on `http.addr` and resolves once it listens: HTTPS with the `http.tls` pair when configured
 * (a renewed pair on disk is picked up without a restart), plain HTTP otherwise, with `/metrics`, the
 * notification endpoints' deliveries and the scheduled maintenance. Unexpected errors are logged with the
 * request's method and path.
 * @throws ConfigError naming the setting when the htpasswd file or a TLS file is unusable at start-up.
 */
export async function startRegistry(
  config: RegistryConfig,
  log: Logger,
  options: StartOptions = {},
): Promise<RunningRegistry> {
  const metrics = new Metrics();
  const stores = createStores(new FilesystemDriver(config.storage.filesystem.rootdirectory));
  const notifier = new Notifier(config, log, metrics);
  const maintenance = new MaintenanceSchedule(stores, config.storage.maintenance, log, metrics);
  const hooks = {
    log,
    metrics,
    notifier,
    onUnexpectedError: (error: unknown, ctx: { method: string; path: string } | undefined) => {
      log.error({ err: error, method: ctx?.method, path: ctx?.path }, 'unexpected error');
    },
  };
  const listener = createRegistryApp(config, stores, hooks).callback();
  const tls = config.http.tls;
  const server = tls ? createTlsServer(tls, listener, log, options.tls) : createServer(listener);
  const port = await listen(server, config.http.addr);
  log.info(
    {
      host: config.http.addr.host ?? '*',
      port,
      root: config.storage.filesystem.rootdirectory,
      tls: tls !== undefined,
      auth: config.auth ? 'htpasswd' : 'none',
    },
    'registry listening',
  );
  notifier.start();
  maintenance.start();
  return {
    server,
    port,
    close: async () => {
      await closeServer(server);
      await Promise.all([notifier.stop(), maintenance.stop()]);
    },
  };
}
