import type Koa from 'koa';

/**
 * The error codes of the OCI Distribution Specification (and the Docker Registry v2 API), with the HTTP status
 * and message each is answered with.
 */
export const ERROR_CODES = {
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 400, message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, message: 'manifest references a manifest or blob unknown to registry' },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown to registry' },
  NAME_INVALID: { status: 400, message: 'invalid repository name' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry' },
  SIZE_INVALID: { status: 400, message: 'provided length did not match content length' },
  TAG_INVALID: { status: 400, message: 'manifest tag did not match URI' },
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  DENIED: { status: 403, message: 'requested access to the resource is denied' },
  UNSUPPORTED: { status: 405, message: 'the operation is unsupported' },
  TOOMANYREQUESTS: { status: 429, message: 'too many requests' },
  RANGE_INVALID: { status: 416, message: 'invalid content range' },
  PAGINATION_NUMBER_INVALID: { status: 400, message: 'invalid number of results requested' },
  MANIFEST_TOO_LARGE: { status: 413, message: 'manifest too large' },
  METHOD_UNKNOWN: { status: 405, message: 'method not allowed for this resource' },
  NOT_FOUND: { status: 404, message: 'no such endpoint' },
  UNKNOWN: { status: 500, message: 'unknown error' },
} as const;

/** One of the codes in {@link ERROR_CODES}. */
export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * A failure the client is told about as the spec's `{errors:[{code,message,detail}]}` with the code's status.
 * `headers` are added to the error response (for example `WWW-Authenticate`, or `Range` on a 416).
 */
export class RegistryError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    readonly detail?: unknown,
    readonly headers: Readonly<Record<string, string>> = {},
    message: string = ERROR_CODES[code].message,
  ) {
    super(message);
    this.name = 'RegistryError';
    this.status = ERROR_CODES[code].status;
  }
}

/**
 * The error codes of a client that went away mid-request, not the registry's errors (`ERR_STREAM_DESTROYED`: a
 * write to a response whose connection was closed). Node's HTTP parser's `HPE_*` codes, a client that broke the
 * HTTP framing (ended its connection in the middle of a body, say), count too.
 */
export const CLIENT_GONE: ReadonlySet<string> = new Set([
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_STREAM_DESTROYED',
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
]);

/** Whether `error` says that the client went away (see {@link CLIENT_GONE}). */
export function isClientGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  return CLIENT_GONE.has(code) || code.startsWith('HPE_');
}

/**
 * The first middleware of the chain: turns a thrown {@link RegistryError} into the spec's JSON error body with
 * its status and headers, and anything else into a logged 500 `UNKNOWN` that reveals no internals. A HEAD
 * request gets the status and headers without a body. An error once the response's headers are sent (a body
 * written by the handler failed mid-way) ends the connection, so the client sees a short body. Errors of a client
 * that went away (see {@link isClientGone}) are never logged as unexpected.
 */
export function errorMiddleware(onUnexpected: (error: unknown, ctx: Koa.Context) => void): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      if (ctx.headerSent) {
        ctx.res.destroy();
        if (!isClientGone(error)) onUnexpected(error, ctx);
        return;
      }
      const registryError = error instanceof RegistryError ? error : new RegistryError('UNKNOWN');
      if (!(error instanceof RegistryError) && !isClientGone(error)) onUnexpected(error, ctx);
      ctx.status = registryError.status;
      ctx.set(registryError.headers);
      const entry: { code: ErrorCode; message: string; detail?: unknown } = {
        code: registryError.code,
        message: registryError.message,
      };
      if (registryError.detail !== undefined) entry.detail = registryError.detail;
      ctx.body = { errors: [entry] };
      if (ctx.method === 'HEAD') ctx.set('Content-Length', '0');
    }
  };
}
