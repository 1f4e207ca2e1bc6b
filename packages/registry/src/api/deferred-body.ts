import type { ServerResponse } from 'node:http';
import type Koa from 'koa';

/** Writes a response body straight into the response; it does not end it. */
export type BodyWriter = (response: ServerResponse) => Promise<void>;

const DEFERRED = Symbol('deferred body');

function deferred(ctx: Koa.Context): { [DEFERRED]?: BodyWriter } {
  return ctx.state;
}

/**
 * Answers `ctx` with a body that `write` produces straight into the Node response (a blob served through pooled
 * buffers rather than a stream Koa pipes), once every middleware has run, as a body set on `ctx` would be: the
 * status and headers set on `ctx` go with the first byte, and an event recorded for the request is queued before it.
 * Requires {@link deferredBodies} in the chain.
 */
export function deferBody(ctx: Koa.Context, write: BodyWriter): void {
  ctx.respond = false;
  deferred(ctx)[DEFERRED] = write;
}

/**
 * The middleware that writes the bodies {@link deferBody} deferred, then ends the response. Place it right after
 * the error middleware: an error thrown before the first byte is answered as any other (Koa responds again), one
 * thrown later reaches the error middleware with the headers sent.
 */
export function deferredBodies(): Koa.Middleware {
  return async (ctx, next) => {
    await next();
    const write = deferred(ctx)[DEFERRED];
    if (!write) return;
    try {
      await write(ctx.res);
    } catch (error) {
      if (!ctx.res.headersSent) ctx.respond = true;
      throw error;
    }
    ctx.res.end();
  };
}
