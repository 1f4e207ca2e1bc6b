import type { Router } from '@koa/router';
import type { AppOperations } from './app-operations.js';
import type { FeedEvent } from './deploy-feed.js';
import type { Deployer } from './deployer.js';
import { validateAppName } from './app-name.js';
import { PassThrough } from 'node:stream';
import type { RegistryCatalog } from './registry-catalog.js';

const HEARTBEAT_MS = 15_000;

/**
 * The routes the dashboard needs beside the day-2 verbs':
 * - `GET /apps/<app>/events` → server-sent events of the app's deploys, whoever started them: first `snapshot`
 *   (`{running?: {deploy, lines, dropped}}`, the deploy running now with its log so far), then `started`
 *   (`{deploy}`), `line` (`{id, line}`) and `finished` (`{id, status}`) as they happen; a comment every 15 s keeps
 *   proxies from closing it. It ends when the client hangs up.
 * - `GET /registry` → `{repositories: [{name, tags: [{tag, digest, size}], diskBytes}]}`;
 *   `DELETE /registry/<repository>/tags/<tag>` (the repository URL-encoded) → `{deleted: "<repository>:<tag>"}`.
 */
export function routeDashboardData(
  api: Router,
  deployer: Deployer,
  operations: AppOperations,
  catalog: RegistryCatalog,
): void {
  api.get('/apps/:app/events', async (ctx) => {
    const app = validateAppName(ctx.params.app ?? '');
    await operations.requireApp(app);
    const body = new PassThrough();
    body.on('error', () => undefined);
    const send = (event: string, data: unknown): void => {
      if (!body.destroyed && body.writable) body.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const { snapshot, stop } = deployer.feed.subscribe(app, (event: FeedEvent) => {
      const { type, ...data } = event;
      send(type, data);
    });
    const heartbeat = setInterval(() => body.write(': still here\n\n'), HEARTBEAT_MS);
    ctx.res.once('close', () => {
      clearInterval(heartbeat);
      stop();
      body.end();
    });
    ctx.type = 'text/event-stream';
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('X-Accel-Buffering', 'no');
    ctx.body = body;
    send('snapshot', snapshot);
  });
  api.get('/registry', async (ctx) => {
    ctx.body = { repositories: await catalog.repositories() };
  });
  api.delete('/registry/:repository/tags/:tag', async (ctx) => {
    const repository = ctx.params.repository ?? '';
    const tag = ctx.params.tag ?? '';
    await catalog.deleteTag(repository, tag);
    ctx.body = { deleted: `${repository}:${tag}` };
  });
}
