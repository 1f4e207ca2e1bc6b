import Router from '@koa/router';
import Koa from 'koa';
import type { RegistryConfig } from './config.js';

/**
 * Builds the registry's Koa application from a validated configuration. The application owns no socket; the
 * caller listens (see `server.ts`) or hands `app.callback()` to a test client.
 */
export function createRegistryApp(_config: RegistryConfig): Koa {
  const app = new Koa();
  const router = new Router();
  router.get('/v2/', (ctx) => {
    ctx.set('Docker-Distribution-API-Version', 'registry/2.0');
    ctx.body = {};
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
