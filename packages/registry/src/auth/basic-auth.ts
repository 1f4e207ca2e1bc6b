import { addressKey, loadHtpasswd, LoginThrottle, type Htpasswd } from '@swarmlet/common';
import type Koa from 'koa';
import type { RegistryConfig } from '../config.js';
import { RegistryError } from '../errors.js';

const BASIC = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i;

/** What the auth middleware leaves on `ctx.state` for later middleware. */
export interface AuthState {
  /** The authenticated user name; absent when the request was not authenticated. */
  user?: string;
}

/** Told of every login refused by the throttle, e.g. to count it in `/metrics`. */
export interface ThrottleCounter {
  /** Called once for each request answered 429 by the throttle. */
  throttled(): void;
}

/** What {@link basicAuth} needs besides the password check. */
export interface BasicAuthOptions {
  /** The `WWW-Authenticate` realm. */
  realm: string;
  /** Refuses password checks after a burst of failures. */
  throttle: LoginThrottle;
  /** Told of each login the throttle refuses. */
  counter?: ThrottleCounter;
}

/**
 * A Koa middleware that lets through only requests carrying `Authorization: Basic` credentials that `htpasswd`
 * accepts, and records the user on `ctx.state.user`. Any other request (no header, another scheme, a malformed
 * value, an unknown user or a wrong password) is refused by throwing a {@link RegistryError} `UNAUTHORIZED` with a
 * `WWW-Authenticate: Basic realm="…"` challenge, which the error middleware answers as 401. It guards every path,
 * `/v2/` included, which is how Docker clients discover that they must log in. The header is parsed here rather
 * than by http-auth, whose parser is reachable only through a handler that writes its own plain-text 401 straight
 * to the Node response, bypassing Koa and the spec's JSON error body.
 *
 * Credentials that `htpasswd` remembers as good pass at once. Any other password check first takes an attempt
 * from the throttle for the socket's remote address (never `X-Forwarded-For`, which a client writes) and the
 * user; when the throttle refuses, the request is answered 429 `TOOMANYREQUESTS` with `Retry-After` and no bcrypt
 * work is done.
 */
export function basicAuth(htpasswd: Htpasswd, options: BasicAuthOptions): Koa.Middleware<AuthState> {
  const challenge = { 'WWW-Authenticate': `Basic realm="${options.realm.replace(/["\\]/g, '\\$&')}"` };
  return async (ctx, next) => {
    const credentials = parseBasic(ctx.get('Authorization'));
    if (!credentials) throw new RegistryError('UNAUTHORIZED', undefined, challenge);
    const { user, password } = credentials;
    if (!htpasswd.remembers(user, password)) {
      const address = addressKey(ctx.req.socket.remoteAddress);
      const retryAfter = options.throttle.take(address, user);
      if (retryAfter !== undefined) {
        options.counter?.throttled();
        const headers = { 'Retry-After': String(retryAfter) };
        throw new RegistryError('TOOMANYREQUESTS', undefined, headers, 'too many failed logins; retry later');
      }
      if (!(await htpasswd.verify(user, password))) throw new RegistryError('UNAUTHORIZED', undefined, challenge);
      options.throttle.giveBack(address, user);
    }
    ctx.state.user = user;
    await next();
  };
}

/**
 * The authentication the configuration asks for: {@link basicAuth} over the `auth.htpasswd.path` file (read once,
 * here) with `auth.htpasswd.realm`, at most `auth.htpasswd.maxconcurrentchecks` bcrypt comparisons at once and
 * the `auth.htpasswd.throttle` limits, or undefined when `auth` is not configured and the registry is open.
 * `now` is the throttle's clock (tests move it).
 * @throws ConfigError naming `auth.htpasswd.path` when the file is unreadable or holds a non-bcrypt entry.
 */
export function createAuthMiddleware(
  config: RegistryConfig,
  counter?: ThrottleCounter,
  now: () => number = Date.now,
): Koa.Middleware<AuthState> | undefined {
  const settings = config.auth?.htpasswd;
  if (!settings) return undefined;
  const htpasswd = loadHtpasswd(settings.path, { maxConcurrentChecks: settings.maxconcurrentchecks });
  const { burst, addressburst, refill } = settings.throttle;
  const throttle = new LoginThrottle({ burst, addressBurst: addressburst, refillMs: refill }, now);
  return basicAuth(htpasswd, { realm: settings.realm, throttle, counter });
}

function parseBasic(header: string): { user: string; password: string } | undefined {
  const encoded = BASIC.exec(header)?.[1];
  if (encoded === undefined) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
