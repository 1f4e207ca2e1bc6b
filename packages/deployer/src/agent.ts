import { timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import type Docker from 'dockerode';
import Koa, { type Context, type Next } from 'koa';
import { routeAppVerbs } from './agent-routes.js';
import { UnknownAppError, type AppOperations } from './app-operations.js';
import { CONTENT_SECURITY_POLICY, serveAssets } from './dashboard/assets.js';
import { requireSession, signInRoutes, type SessionAuth, type SessionState } from './dashboard/session-auth.js';
import { shellPage } from './dashboard/shell-page.js';
import { routeDashboardData } from './dashboard-routes.js';
import type { Deployer } from './deployer.js';
import { describeEngine } from './docker/engine.js';
import { routeKeys, type KeysDoor } from './key-routes.js';
import { NoSuchNodeError } from './docker/nodes.js';
import type { NodeOperations } from './node-operations.js';
import { routeNodeVerbs } from './node-routes.js';
import type { RegistryCatalog } from './registry-catalog.js';

/** What the agent's API runs on. */
export interface AgentServices {
  deployer: Deployer;
  operations: AppOperations;
  nodes?: NodeOperations;
  /** The platform registry's contents, for `/registry`. */
  catalog?: RegistryCatalog;
  /** The receiver's keys command, for `/keys`. */
  keys?: KeysDoor;
}

/**
 * The deployer agent's HTTP API, for the receiver, the CLI, the dashboard and webhooks. `GET /health` is open:
 * 200 with the engine's status, 503 with the reason when the engine does not answer. Everything under `/v1` needs
 * `Authorization: Bearer <token>` (401 otherwise); its routes are listed in `agent-routes.ts`, `node-routes.ts`,
 * `dashboard-routes.ts` and `key-routes.ts`. Errors are `{"error": "…"}`: 404 for an unknown app, 400 for other refused input,
 * and nothing has changed then.
 *
 * Given `dashboard` (and the services), the agent also serves the web dashboard: `/signin` and `/signout` (see
 * `session-auth.ts`), `/assets/…` (code, open), every other GET path the dashboard's page (a 303 to `/signin`
 * without a session), and under `/api/v1` the same routes as `/v1` with a session instead of the token (401
 * without one; a changing request needs the session's CSRF token and the dashboard's origin, else 403).
 */
export function createAgentApp(docker: Docker, services?: AgentServices, token?: string, dashboard?: SessionAuth): Koa {
  const app = new Koa();
  const router = new Router();
  router.get('/health', async (ctx) => {
    try {
      ctx.body = { status: 'ok', engine: await describeEngine(docker) };
    } catch (error) {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', reason: `Docker engine: ${(error as Error).message}` };
    }
  });
  if (services && token) {
    const api = new Router({ prefix: '/v1' });
    api.use(async (ctx, next) => {
      if (!bearerMatches(ctx.get('Authorization'), token)) {
        ctx.status = 401;
        ctx.set('WWW-Authenticate', 'Bearer');
        ctx.body = { error: 'a valid bearer token is required' };
        return;
      }
      await next();
    });
    routeApi(api, services);
    router.use(api.routes(), api.allowedMethods());
  }
  if (services && dashboard) {
    const api = new Router({ prefix: '/api/v1' });
    api.use(requireSession(dashboard, 'api'));
    routeApi(api, services);
    router.use(api.routes(), api.allowedMethods());
  }
  app.use(router.routes());
  app.use(router.allowedMethods());
  if (services && dashboard) {
    app.use(securityHeaders);
    app.use(signInRoutes(dashboard));
    app.use(serveAssets());
    app.use(dashboardPages(dashboard));
  }
  return app;
}

/** The API's routes on `api`, behind whichever door `api` has; refused input answers 404 or 400 with `{error}`. */
function routeApi(api: Router, services: AgentServices): void {
  api.use(answerErrors);
  routeAppVerbs(api, services.deployer, services.operations);
  if (services.nodes) routeNodeVerbs(api, services.nodes);
  if (services.catalog) routeDashboardData(api, services.deployer, services.operations, services.catalog);
  if (services.keys) routeKeys(api, services.keys);
}

async function answerErrors(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
  } catch (error) {
    ctx.status = error instanceof UnknownAppError || error instanceof NoSuchNodeError ? 404 : 400;
    ctx.body = { error: (error as Error).message };
  }
}

async function securityHeaders(ctx: Context, next: Next): Promise<void> {
  ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'same-origin');
  ctx.set('X-Frame-Options', 'DENY');
  await next();
}

/** Every GET path not answered before: the dashboard's page, for a session; the front end tells unknown paths. */
function dashboardPages(auth: SessionAuth) {
  const signedIn = requireSession(auth, 'page');
  return async (ctx: Context, next: Next): Promise<void> => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      await next();
      return;
    }
    await signedIn(ctx, () => {
      const session = (ctx.state as SessionState).session;
      ctx.type = 'text/html; charset=utf-8';
      ctx.set('Cache-Control', 'no-store');
      ctx.body = shellPage(session?.user ?? '', session?.csrfToken ?? '');
      return Promise.resolve();
    });
  };
}

function bearerMatches(header: string, token: string): boolean {
  const given = Buffer.from(/^Bearer (.+)$/.exec(header)?.[1] ?? '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
