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
