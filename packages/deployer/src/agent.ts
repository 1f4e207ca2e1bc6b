import { timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import type Docker from 'dockerode';
import Koa from 'koa';
import { routeAppVerbs } from './agent-routes.js';
import { UnknownAppError, type AppOperations } from './app-operations.js';
import type { Deployer } from './deployer.js';
import { describeEngine } from './docker/engine.js';
import { NoSuchNodeError } from './docker/nodes.js';
import type { NodeOperations } from './node-operations.js';
import { routeNodeVerbs } from './node-routes.js';

/**
 * The deployer agent's HTTP API, for the receiver, the CLI, the dashboard and webhooks. `GET /health` is open:
 * 200 with the engine's status, 503 with the reason when the engine does not answer. Everything under `/v1` needs
 * `Authorization: Bearer <token>` (401 otherwise); its routes are listed in `agent-routes.ts` and `node-routes.ts`. Errors are
 * `{"error": "…"}`: 404 for an unknown app, 400 for other refused input, and nothing has changed then.
 */
export function createAgentApp(
  docker: Docker,
  services?: { deployer: Deployer; operations: AppOperations; nodes?: NodeOperations },
  token?: string,
): Koa {
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
      try {
        await next();
      } catch (error) {
        ctx.status = error instanceof UnknownAppError || error instanceof NoSuchNodeError ? 404 : 400;
        ctx.body = { error: (error as Error).message };
      }
    });
    routeAppVerbs(api, services.deployer, services.operations);
    if (services.nodes) routeNodeVerbs(api, services.nodes);
    router.use(api.routes(), api.allowedMethods());
  }
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

function bearerMatches(header: string, token: string): boolean {
  const given = Buffer.from(/^Bearer (.+)$/.exec(header)?.[1] ?? '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
