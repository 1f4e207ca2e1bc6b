import { timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import type Docker from 'dockerode';
import Koa from 'koa';
import { validateAppName } from './app-name.js';
import { deployEventStream } from './deploy-stream.js';
import type { Deployer } from './deployer.js';
import { describeEngine } from './docker/engine.js';

/** The largest deploy request body accepted. */
const MAX_REQUEST_BYTES = 64 * 1024;

/**
 * The deployer agent's HTTP API, for the receiver, the CLI and webhooks. `GET /health` is open: 200 with the
 * engine's status, 503 with the reason when the engine does not answer. Everything under `/v1` needs
 * `Authorization: Bearer <token>`:
 * - `POST /v1/apps/<app>/deploys` with `{"repository","commit","branch","objectDirectories"?}` answers an NDJSON
 *   stream of `{"type":"log","line"}` events ending with `{"type":"result","ok",…}` (see `deploy-stream.ts`);
 * - `POST /v1/apps/<app>/rollback` with `{"deploy": "<id>"}` answers the same way;
 * - `GET /v1/apps`, `GET /v1/apps/<app>/deploys`, `GET /v1/apps/<app>/deploys/<id>/log`.
 * Errors are `{"error": "…"}` with a 4xx status.
 */
export function createAgentApp(docker: Docker, deployer?: Deployer, token?: string): Koa {
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
  if (deployer && token) {
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
        ctx.status = 400;
        ctx.body = { error: (error as Error).message };
      }
    });
    api.post('/apps/:app/deploys', async (ctx) => {
      const app = validateAppName(ctx.params.app ?? '');
      const body = await readJson(ctx.req);
      const request = {
        app,
        repository: requireString(body, 'repository'),
        commit: requireString(body, 'commit'),
        branch: requireString(body, 'branch'),
        ...(Array.isArray(body.objectDirectories) && { objectDirectories: body.objectDirectories.map(String) }),
      };
      ctx.type = 'application/x-ndjson';
      ctx.body = deployEventStream((onLine) => deployer.deploy(request, onLine));
    });
    api.post('/apps/:app/rollback', async (ctx) => {
      const app = validateAppName(ctx.params.app ?? '');
      const deployId = requireString(await readJson(ctx.req), 'deploy');
      ctx.type = 'application/x-ndjson';
      ctx.body = deployEventStream((onLine) => deployer.rollback(app, deployId, onLine));
    });
    api.get('/apps', async (ctx) => {
      ctx.body = { apps: await deployer.apps() };
    });
    api.get('/apps/:app/deploys', async (ctx) => {
      ctx.body = { deploys: await deployer.deploys(validateAppName(ctx.params.app ?? '')) };
    });
    api.get('/apps/:app/deploys/:id/log', async (ctx) => {
      const log = await deployer.log(validateAppName(ctx.params.app ?? ''), ctx.params.id ?? '');
      if (log === undefined) {
        ctx.status = 404;
        ctx.body = { error: 'no such deploy' };
        return;
      }
      ctx.type = 'text/plain';
      ctx.body = log;
    });
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

async function readJson(request: NodeJS.ReadableStream): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('expected a JSON object');
  return parsed as Record<string, unknown>;
}

function requireString(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  if (typeof value !== 'string' || value === '') throw new Error(`${key} is required`);
  return value;
}
