import Router from '@koa/router';
import type Docker from 'dockerode';
import Koa from 'koa';
import { describeEngine } from './docker/engine.js';

/**
 * The deployer agent's HTTP API. `GET /health` answers 200 with the engine's status when the Docker engine
 * answers, and 503 with the reason when it does not.
 */
export function createAgentApp(docker: Docker): Koa {
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
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
