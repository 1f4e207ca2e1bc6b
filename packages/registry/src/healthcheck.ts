import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { RegistryConfig } from './config.js';

/**
 * Asks the registry described by `config` for `/v2/` on the loopback interface and resolves true when it
 * answers 200, or 401 (auth is on: the registry serves, it only wants credentials). Over TLS the certificate is
 * not verified: the check is about this process, not the certificate's name. Resolves false on any other
 * answer, a connection error, or no answer within `timeoutMs`.
 */
export function checkHealth(config: RegistryConfig, timeoutMs = 3000): Promise<boolean> {
  const request = config.http.tls ? httpsRequest : httpRequest;
  const host = config.http.addr.host && config.http.addr.host !== '0.0.0.0' ? config.http.addr.host : '127.0.0.1';
  return new Promise((resolve) => {
    const call = request(
      { host, port: config.http.addr.port, path: '/v2/', method: 'GET', timeout: timeoutMs, rejectUnauthorized: false },
      (response) => {
        response.resume();
        resolve(response.statusCode === 200 || response.statusCode === 401);
      },
    );
    call.on('timeout', () => call.destroy(new Error('timed out')));
    call.on('error', () => {
      resolve(false);
    });
    call.end();
  });
}
