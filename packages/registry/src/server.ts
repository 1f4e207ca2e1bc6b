import { createServer, type Server } from 'node:http';
import { closeServer, listen, type Logger } from '@swarmlet/common';
import { createRegistryApp } from './app.js';
import type { RegistryConfig } from './config.js';

/** A listening registry. `close()` stops accepting connections and resolves once open ones are done. */
export interface RunningRegistry {
  server: Server;
  /** The bound port (useful when `http.addr` asked for port 0). */
  port: number;
  close(): Promise<void>;
}

/** Starts the registry on `http.addr` and resolves once it listens. */
export async function startRegistry(config: RegistryConfig, log: Logger): Promise<RunningRegistry> {
  const server = createServer(createRegistryApp(config).callback());
  const port = await listen(server, config.http.addr);
  log.info(
    { host: config.http.addr.host ?? '*', port, root: config.storage.filesystem.rootdirectory },
    'registry listening',
  );
  return { server, port, close: () => closeServer(server) };
}
