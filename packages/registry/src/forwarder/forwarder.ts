import { connect, createServer, type Server, type Socket } from 'node:net';

/** A TCP endpoint, as `host:port`. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** What the forwarder reports: one event per line, never a byte of the traffic it carries. */
export type ForwarderEvent =
  | { readonly event: 'listening'; readonly listen: string; readonly upstream: string }
  | { readonly event: 'upstream-unreachable'; readonly upstream: string; readonly error: string }
  | { readonly event: 'connection-error'; readonly error: string };

/**
 * Reads `HOST:PORT` (`[v6]:PORT` for an IPv6 address). Throws an Error naming the setting when the text is not one.
 */
export function parseEndpoint(text: string, setting: string): Endpoint {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[3]) : 0;
  if (!match || port < 1 || port > 65535) throw new Error(`${setting} must be HOST:PORT, not ${JSON.stringify(text)}`);
  return { host: match[1] ?? match[2] ?? '', port };
}

/** `host:port`, with brackets around an IPv6 address. */
export function formatEndpoint({ host, port }: Endpoint): string {
  return `${host.includes(':') ? `[${host}]` : host}:${String(port)}`;
}

/**
 * Pipes one accepted connection to a new connection to `upstream` and back, both ways, with the streams' own
 * back-pressure: a slow reader slows the writer, so the forwarder holds at most a socket buffer per direction
 * whatever the size of the blob on the way. The upstream name is resolved again for every connection, so a
 * registry task that moved to another address is followed. When one side ends, the other is ended after its
 * pending writes; an error on either side closes both.
 */
function forwardConnection(client: Socket, upstream: Endpoint, report: (event: ForwarderEvent) => void): void {
  const server = connect({ host: upstream.host, port: upstream.port, allowHalfOpen: true });
  let connected = false;
  server.once('connect', () => {
    connected = true;
  });
  const close = (error?: Error) => {
    if (error) {
      report(
        connected
          ? { event: 'connection-error', error: error.message }
          : { event: 'upstream-unreachable', upstream: formatEndpoint(upstream), error: error.message },
      );
    }
    client.destroy();
    server.destroy();
  };
  client.on('error', close);
  server.on('error', close);
  client.pipe(server);
  server.pipe(client);
  client.on('close', () => server.destroy());
  // The upstream is gone: the client gets the rest of what was piped, then an end; one that never hangs up on
  // its side is let go after a quiet minute.
  server.on('close', () => {
    client.end();
    client.setTimeout(60_000, () => client.destroy());
  });
}

/**
 * Starts a plain TCP forwarder: every connection accepted on `listen` is carried to `upstream` (the registry over
 * the swarm's overlay network, for nodes where swarm publishes no routing mesh; the agent's dashboard address, for
 * the router). It reads nothing of what it
 * carries, so TLS, auth headers and blobs of any size pass through unchanged. Resolves once listening.
 */
export async function startForwarder(
  listen: Endpoint,
  upstream: Endpoint,
  report: (event: ForwarderEvent) => void,
): Promise<Server> {
  const server = createServer({ allowHalfOpen: true }, (client) => {
    forwardConnection(client, upstream, report);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const address = typeof bound === 'object' && bound ? { host: bound.address, port: bound.port } : listen;
  report({ event: 'listening', listen: formatEndpoint(address), upstream: formatEndpoint(upstream) });
  return server;
}
