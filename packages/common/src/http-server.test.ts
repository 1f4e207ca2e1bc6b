import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, listenWhenFree } from './http-server.js';

const LOOPBACK = '127.0.0.1';

describe('listenWhenFree', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) if (server.listening) await closeServer(server);
  });

  it('waits while another server holds the address and takes it once that one lets go', async () => {
    const holder = createServer();
    servers.push(holder);
    holder.listen(0, LOOPBACK);
    await once(holder, 'listening');
    const { port } = holder.address() as AddressInfo;

    const taker = createServer((_request, response) => response.end('taken over'));
    servers.push(taker);
    const waited: string[] = [];
    const bound = listenWhenFree(
      taker,
      { host: LOOPBACK, port },
      { signal: new AbortController().signal, intervalMs: 50, onWait: (error) => waited.push(error.message) },
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(taker.listening).toBe(false);
    expect(waited).toHaveLength(1);
    expect(waited[0]).toMatch(/EADDRINUSE/);

    await closeServer(holder);
    expect(await bound).toBe(port);
    expect(await (await fetch(`http://${LOOPBACK}:${String(port)}/`)).text()).toBe('taken over');
  });

  it('stops waiting when its signal aborts', async () => {
    const holder = createServer();
    servers.push(holder);
    holder.listen(0, LOOPBACK);
    await once(holder, 'listening');
    const { port } = holder.address() as AddressInfo;
    const stop = new AbortController();
    const bound = listenWhenFree(createServer(), { host: LOOPBACK, port }, { signal: stop.signal, intervalMs: 50 });
    stop.abort(new Error('stopping'));
    await expect(bound).rejects.toThrow('stopping');
  });
});
