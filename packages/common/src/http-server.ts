import { setTimeout as sleep } from 'node:timers/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ListenAddress } from './listen-address.js';

/** Starts `server` listening on `address`; resolves with the bound port, rejects when the address is taken. */
export async function listen(server: Server, address: ListenAddress): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Stops accepting connections, closes idle keep-alive ones, and resolves once the open requests are done. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => {
      if (error) reject(error);
      else resolve();
    });
    server.closeIdleConnections();
  });
}

/**
 * Listens on `address` like {@link listen}, but while the address is taken (`EADDRINUSE`: the task this one
 * replaces still holds it) or not on this machine yet (`EADDRNOTAVAIL`), tries again every `intervalMs`, calling
 * `onWait` with the error once. Resolves with the port once bound; rejects on any other error, or with the
 * signal's reason once `signal` aborts.
 */
export async function listenWhenFree(
  server: Server,
  address: ListenAddress,
  { signal, intervalMs = 2_000, onWait }: { signal: AbortSignal; intervalMs?: number; onWait?: (error: Error) => void },
): Promise<number> {
  let told = false;
  for (;;) {
    signal.throwIfAborted();
    try {
      return await listen(server, address);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EADDRINUSE' && code !== 'EADDRNOTAVAIL') throw error;
      if (!told) onWait?.(error as Error);
      told = true;
      await sleep(intervalMs, undefined, { signal }).catch((error: unknown) => {
        signal.throwIfAborted();
        throw error;
      });
    }
  }
}
