import type Koa from 'koa';
import type { RegistryConfig } from '../config.js';
import { RegistryError } from '../errors.js';
import { loadHtpasswd, type Htpasswd } from './htpasswd.js';

const BASIC = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i;

/** What the auth middleware leaves on `ctx.state` for later middleware. */
export interface AuthState {
  /** The authenticated user name; absent when the request was not authenticated. */
  user?: string;
}

/**
 * A Koa middleware that lets through only requests carrying `Authorization: Basic` credentials that `htpasswd`
 * accepts, and records the user on `ctx.state.user`. Any other request (no header, another scheme, a malformed
 * value, an unknown user or a wrong password) is refused by throwing a {@link RegistryError} `UNAUTHORIZED` with a
 * `WWW-Authenticate: Basic realm="…"` challenge, which the error middleware answers as 401. It guards every path,
 * `/v2/` included, which is how Docker clients discover that they must log in. The header is parsed here rather
 * than by http-auth, whose parser is reachable only through a handler that writes its own plain-text 401 straight
 * to the Node response, bypassing Koa and the spec's JSON error body.
 */
export function basicAuth(htpasswd: Htpasswd, realm: string): Koa.Middleware<AuthState> {
  const challenge = { 'WWW-Authenticate': `Basic realm="${realm.replace(/["\\]/g, '\\$&')}"` };
  return async (ctx, next) => {
    const credentials = parseBasic(ctx.get('Authorization'));
    if (!credentials || !(await htpasswd.verify(credentials.user, credentials.password))) {
      throw new RegistryError('UNAUTHORIZED', undefined, challenge);
    }
    ctx.state.user = credentials.user;
    await next();
  };
}

/**
 * The authentication the configuration asks for: {@link basicAuth} over the `auth.htpasswd.path` file (read once,
 * here) with `auth.htpasswd.realm`, or undefined when `auth` is not configured and the registry is open.
 * @throws ConfigError naming `auth.htpasswd.path` when the file is unreadable or holds a non-bcrypt entry.
 */
export function createAuthMiddleware(config: RegistryConfig): Koa.Middleware<AuthState> | undefined {
  const settings = config.auth?.htpasswd;
  return settings && basicAuth(loadHtpasswd(settings.path), settings.realm);
}

function parseBasic(header: string): { user: string; password: string } | undefined {
  const encoded = BASIC.exec(header)?.[1];
  if (encoded === undefined) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
