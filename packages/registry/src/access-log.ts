import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from '@swarmlet/common';
import type Koa from 'koa';
import type { AuthState } from './auth/basic-auth.js';
import type { RegistryConfig } from './config.js';

/**
 * A Koa middleware that writes one `info` line per request once its response is sent (or `aborted: true` when the
 * connection closed first): `method`, `path` (without the query string), `status`, `durationMs`, `bytesIn`,
 * `bytesOut`, `remoteAddress` and the authenticated `user` from `ctx.state.user`. Byte counts are what the
 * connection carried for the request, head included (after TLS decryption), so a chunked upload is counted too.
 * No header, query string or credential is logged. Place it right after the error middleware so every request,
 * refused ones included, is logged. Returns undefined when `log.accesslog.disabled` is set.
 */
export function accessLog(log: Logger, config: RegistryConfig): Koa.Middleware<AuthState> | undefined {
  if (config.log.accesslog.disabled) return undefined;
  const counted = new WeakMap<Socket, { read: number; written: number }>();
  return async (ctx, next) => {
    const started = performance.now();
    const { req, res } = ctx;
    const socket = req.socket;
    let logged = false;
    const write = (aborted: boolean): void => {
      if (logged) return;
      logged = true;
      const before = counted.get(socket) ?? { read: 0, written: 0 };
      const now = { read: socket.bytesRead, written: socket.bytesWritten };
      counted.set(socket, now);
      log.info(
        {
          method: ctx.method,
          path: ctx.path,
          status: res.statusCode,
          durationMs: Math.round((performance.now() - started) * 10) / 10,
          bytesIn: now.read - before.read,
          bytesOut: now.written - before.written,
          remoteAddress: ctx.ip,
          user: ctx.state.user,
          ...(aborted ? { aborted } : {}),
        },
        'request',
      );
    };
    res.once('finish', () => {
      write(false);
    });
    res.once('close', () => {
      write(true);
    });
    await next();
  };
}
