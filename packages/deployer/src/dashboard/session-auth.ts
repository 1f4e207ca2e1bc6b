import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { addressKey, type Htpasswd, type LoginThrottle } from '@swarmlet/common';
import type { Context, Next } from 'koa';
import { ACTOR_HEADER } from '../deploy-stream.js';
import type { Session, SessionStore } from './sessions.js';
import { signInPage } from './signin-page.js';

/** The session cookie's name. */
export const SESSION_COOKIE = 'swarmlet_session';

/** The request header that carries the session's CSRF token on every changing request. */
export const CSRF_HEADER = 'X-CSRF-Token';

/** What the dashboard's sign-in checks against and keeps. */
export interface SessionAuth {
  /** The platform user's htpasswd entries (the same as `docker login`'s). */
  htpasswd: Htpasswd;
  sessions: SessionStore;
  /** Failed sign-ins, per client address and user. */
  throttle: LoginThrottle;
  /** Whether a proxy (Traefik) stands in front: the client is then the last `X-Forwarded-For` address. */
  behindProxy: boolean;
}

/** The state the session middleware leaves for the routes after it. */
export interface SessionState {
  session?: Session;
}

const MAX_FORM_BYTES = 8 * 1024;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Koa middleware that lets a request through only with a live session (left in `ctx.state.session`): without
 * one, an `api` request answers 401 `{error}`, a page request a 303 to `/signin?next=<path>`. A changing request
 * (not GET or HEAD) must also come from the dashboard's own origin (`Sec-Fetch-Site` and `Origin`, when the browser
 * sends them) and carry the session's token in {@link CSRF_HEADER}; otherwise it answers 403 and nothing runs.
 * Who asks ({@link ACTOR_HEADER}, kept in deploy records) is set to `<user> (dashboard)`, whatever the client sent.
 */
export function requireSession(auth: SessionAuth, kind: 'api' | 'page') {
  return async (ctx: Context, next: Next): Promise<void> => {
    const session = auth.sessions.use(cookieValue(ctx.get('Cookie'), SESSION_COOKIE));
    if (!session) {
      if (kind === 'api') {
        ctx.status = 401;
        ctx.body = { error: 'sign in first: no dashboard session' };
      } else {
        ctx.redirect(`/signin?next=${encodeURIComponent(ctx.originalUrl)}`);
        ctx.status = 303;
      }
      return;
    }
    if (!SAFE_METHODS.has(ctx.method)) {
      const refusal = crossSiteRefusal(ctx, auth.behindProxy) ?? csrfRefusal(ctx.get(CSRF_HEADER), session.csrfToken);
      if (refusal !== undefined) {
        ctx.status = 403;
        ctx.body = { error: refusal };
        return;
      }
    }
    (ctx.state as SessionState).session = session;
    ctx.req.headers[ACTOR_HEADER.toLowerCase()] = `${session.user} (dashboard)`;
    await next();
  };
}

/**
 * `GET /signin` (the form; signed-in users go on to `next`), `POST /signin` (form fields `user`, `password`,
 * `next`: a good password starts a session, sets its cookie and answers 303 to `next`, a same-site path only; a
 * wrong one answers 401 with the form again; past the throttle's budget 429, with the seconds to wait, before any
 * password is checked) and `POST /signout` (a session and its CSRF token: ends the session and clears the cookie,
 * 204). A sign-in from another site is refused (403).
 */
export function signInRoutes(auth: SessionAuth) {
  return async (ctx: Context, next: Next): Promise<void> => {
    if (ctx.path === '/signin' && ctx.method === 'GET') {
      const target = safeNext(ctx.query.next);
      if (auth.sessions.use(cookieValue(ctx.get('Cookie'), SESSION_COOKIE))) {
        ctx.redirect(target);
        return;
      }
      page(ctx, 200, signInPage({ next: target }));
      return;
    }
    if (ctx.path === '/signin' && ctx.method === 'POST') {
      await signIn(ctx, auth);
      return;
    }
    if (ctx.path === '/signout' && ctx.method === 'POST') {
      await requireSession(auth, 'api')(ctx, () => {
        const session = (ctx.state as SessionState).session;
        if (session) auth.sessions.end(session.id);
        ctx.append('Set-Cookie', sessionCookie('', isTls(ctx, auth.behindProxy), 0));
        ctx.status = 204;
        return Promise.resolve();
      });
      return;
    }
    await next();
  };
}

async function signIn(ctx: Context, auth: SessionAuth): Promise<void> {
  const refusal = crossSiteRefusal(ctx, auth.behindProxy);
  if (refusal !== undefined) {
    ctx.status = 403;
    ctx.body = { error: refusal };
    return;
  }
  const form = await readForm(ctx.req);
  const target = safeNext(form.get('next') ?? undefined);
  const user = form.get('user') ?? '';
  const password = form.get('password') ?? '';
  const address = clientAddress(ctx, auth.behindProxy);
  const wait = auth.throttle.take(address, user);
  if (wait !== undefined) {
    ctx.set('Retry-After', String(wait));
    page(ctx, 429, signInPage({ next: target, user, error: `Too many failed sign-ins: try again in ${wait} s.` }));
    return;
  }
  if (user === '' || password === '' || !(await auth.htpasswd.verify(user, password))) {
    page(ctx, 401, signInPage({ next: target, user, error: 'Wrong user or password.' }));
    return;
  }
  auth.throttle.giveBack(address, user);
  const session = auth.sessions.create(user);
  ctx.append('Set-Cookie', sessionCookie(session.id, isTls(ctx, auth.behindProxy)));
  ctx.status = 303;
  ctx.set('Location', target);
}

function page(ctx: Context, status: number, html: string): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = html;
}

/** The session cookie: `HttpOnly; SameSite=Strict; Path=/`, `Secure` over TLS; `maxAge` 0 clears it. */
function sessionCookie(id: string, secure: boolean, maxAge?: number): string {
  return [
    `${SESSION_COOKIE}=${id}`,
    'HttpOnly',
    'SameSite=Strict',
    'Path=/',
    ...(secure ? ['Secure'] : []),
    ...(maxAge !== undefined ? [`Max-Age=${maxAge}`] : []),
  ].join('; ');
}

/**
 * Whether the request came over TLS: to this server, or, when a proxy stands in front (`behindProxy`), to the proxy
 * (its `X-Forwarded-Proto`; without a proxy that header is the client's own word and is not believed).
 */
export function isTls(ctx: Pick<Context, 'req' | 'get'>, behindProxy: boolean): boolean {
  return (
    (ctx.req.socket as { encrypted?: boolean }).encrypted === true ||
    (behindProxy && ctx.get('X-Forwarded-Proto').split(',')[0] === 'https')
  );
}

/** Why a browser request comes from another site, or undefined when it is same-origin (or not from a browser). */
function crossSiteRefusal(ctx: Context, behindProxy: boolean): string | undefined {
  const site = ctx.get('Sec-Fetch-Site');
  if (site !== '' && site !== 'same-origin') return `refused: a ${site} request may not change anything`;
  const origin = ctx.get('Origin');
  const own = `${isTls(ctx, behindProxy) ? 'https' : 'http'}://${ctx.get('Host')}`;
  if (origin !== '' && origin !== own) return `refused: a request from ${origin.slice(0, 100)} may not change anything`;
  return undefined;
}

function csrfRefusal(given: string, expected: string): string | undefined {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b)
    ? undefined
    : `refused: the ${CSRF_HEADER} header is missing or wrong`;
}

/** A path on this site to go to after sign-in: `next` when it is one, `/` otherwise. */
function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])[\x21-\x7e]*$/.test(next) && !next.startsWith('/signin') ? next : '/';
}

function clientAddress(ctx: Context, behindProxy: boolean): string {
  const forwarded = behindProxy ? ctx.get('X-Forwarded-For').split(',').pop()?.trim() : undefined;
  return addressKey(forwarded !== undefined && forwarded !== '' ? forwarded : ctx.req.socket.remoteAddress);
}

/** One cookie's value from a `Cookie` header. */
function cookieValue(header: string, name: string): string | undefined {
  for (const part of header.split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

async function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) return new URLSearchParams();
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
