import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { formatEndpoint, parseEndpoint, startForwarder, type ForwarderEvent } from './forwarder.js';

const LOOPBACK = '127.0.0.1';

async function listening(server: Server): Promise<number> {
  server.listen(0, LOOPBACK);
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Everything the socket sends until its end, leaving its writing side open (an async iterator would destroy it). */
async function readAll(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  await once(socket, 'end');
  return Buffer.concat(chunks);
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('the registry forwarder', () => {
  const servers: Server[] = [];
  const events: ForwarderEvent[] = [];
  const report = (event: ForwarderEvent) => events.push(event);

  afterEach(() => {
    for (const server of servers.splice(0)) server.close();
    events.length = 0;
  });

  async function forwarderTo(upstreamPort: number): Promise<number> {
    const forwarder = await startForwarder({ host: LOOPBACK, port: 0 }, { host: LOOPBACK, port: upstreamPort }, report);
    servers.push(forwarder);
    return (forwarder.address() as AddressInfo).port;
  }

  it('carries bytes both ways unchanged, including a half-close from the client', async () => {
    const upload = randomBytes(8 * 1024 * 1024);
    const download = randomBytes(12 * 1024 * 1024);
    const upstream = createServer({ allowHalfOpen: true }, (socket) => {
      void readAll(socket).then((received) => {
        socket.end(Buffer.concat([Buffer.from(`${sha(received)}\n`), download]));
      });
    });
    servers.push(upstream);
    const port = await forwarderTo(await listening(upstream));

    const client = connect({ host: LOOPBACK, port, allowHalfOpen: true });
    await once(client, 'connect');
    client.end(upload);
    const answer = await readAll(client);
    const newline = answer.indexOf('\n');
    expect(answer.subarray(0, newline).toString()).toBe(sha(upload));
    expect(sha(answer.subarray(newline + 1))).toBe(sha(download));
    expect(events.filter((event) => event.event !== 'listening')).toEqual([]);
  });

  it('streams: while the client reads nothing, the upstream can hand over only a few socket buffers', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 7);
    let accepted = 0;
    let stalled: () => void = () => undefined;
    const stall = new Promise<void>((resolve) => {
      stalled = resolve;
    });
    const upstream = createServer((socket) => {
      socket.on('error', () => undefined); // the test ends by hanging up on it
      // Writes until the socket says stop; a buffering forwarder would keep taking all 256 MiB.
      const pump = () => {
        while (accepted < 256 * chunk.length) {
          accepted += chunk.length;
          if (!socket.write(chunk)) {
            // Give the forwarder every chance to drain into its own memory before judging.
            setTimeout(() => {
              if (socket.writableNeedDrain) stalled();
            }, 2_000);
            socket.once('drain', pump);
            return;
          }
        }
        stalled();
      };
      pump();
    });
    servers.push(upstream);
    const port = await forwarderTo(await listening(upstream));

    const client = connect({ host: LOOPBACK, port });
    await once(client, 'connect');
    client.pause();
    await stall;
    expect(accepted).toBeLessThan(64 * chunk.length);
    client.destroy();
  });

  it('closes the client and says so when the upstream cannot be reached', async () => {
    const closed = createServer();
    const deadPort = await listening(closed);
    closed.close();
    await once(closed, 'close');
    const port = await forwarderTo(deadPort);

    const client = connect({ host: LOOPBACK, port });
    await once(client, 'connect');
    const answer = await readAll(client).catch(() => Buffer.alloc(0));
    expect(answer.length).toBe(0);
    expect(events).toContainEqual(
      expect.objectContaining({ event: 'upstream-unreachable', upstream: `${LOOPBACK}:${String(deadPort)}` }),
    );
  });

  it('reads HOST:PORT settings and refuses anything else, naming the setting', () => {
    expect(parseEndpoint('tasks.registry_registry:5000', 'FORWARDER_UPSTREAM')).toEqual({
      host: 'tasks.registry_registry',
      port: 5000,
    });
    expect(parseEndpoint('[::1]:5000', 'X')).toEqual({ host: '::1', port: 5000 });
    expect(formatEndpoint({ host: '::1', port: 5000 })).toBe('[::1]:5000');
    for (const bad of ['', 'registry', 'registry:', 'registry:0', 'registry:70000', 'a b:5000', 'host:5000/x']) {
      expect(() => parseEndpoint(bad, 'FORWARDER_UPSTREAM')).toThrow(/^FORWARDER_UPSTREAM must be HOST:PORT, not /);
    }
  });
});
