#!/usr/bin/env node
import { parseEndpoint, startForwarder, type ForwarderEvent } from './forwarder.js';

/**
 * The registry forwarder's process: `FORWARDER_LISTEN` (default `0.0.0.0:5000`) to `FORWARDER_UPSTREAM`
 * (required, e.g. `tasks.registry_registry:5000`). It imports nothing beyond Node.js itself, so its image is the
 * Node.js base and this directory. Events go to standard output as JSON lines; a bad setting exits 2 with one line.
 */
const report = (event: ForwarderEvent) => {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
};

try {
  const listen = parseEndpoint(process.env.FORWARDER_LISTEN ?? '0.0.0.0:5000', 'FORWARDER_LISTEN');
  const upstream = parseEndpoint(process.env.FORWARDER_UPSTREAM ?? '', 'FORWARDER_UPSTREAM');
  const server = await startForwarder(listen, upstream, report);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      server.close();
      process.exit(0);
    });
  }
} catch (error) {
  process.stderr.write(`forwarder: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}
