import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import type { Router, RouterContext } from '@koa/router';
import { validateAppName } from './app-name.js';
import { OperationError, type AppOperations, type ScaleChanges } from './app-operations.js';
import { ACTOR_HEADER, openDeployEvents, type DeployResult } from './deploy-stream.js';
import type { DeployOrigin, Deployer } from './deployer.js';
import type { DeployTrigger } from './history.js';
import { parseSince } from './log-since.js';

/** The largest request body accepted. */
const MAX_REQUEST_BYTES = 256 * 1024;

const MAX_TAIL = 100_000;

/**
 * The `/v1` routes of the agent, one per day-2 verb (the SSH door and the CLI are thin clients of them):
 * - `GET /apps` → `{apps: [...]}`; `GET /apps/<app>` → the app's status;
 * - `GET /apps/<app>/deploys` → `{deploys: [...]}` (newest first); `GET /apps/<app>/deploys/<id>` → `{deploy, log}`;
 *   `GET /apps/<app>/deploys/<id>/log` → the log as text;
 * - `GET /apps/<app>/logs?service=&follow=1&since=&tail=` → NDJSON `{"type":"line","task","node","time","stream",
 *   "text"}` events, ending with `{"type":"end"}` (or `{"type":"error","error"}`); a follow ends when the client
 *   hangs up, and the engine's streams with it;
 * - `GET /apps/<app>/config[?reveal=1]` → `{config: {KEY: value|null}}`; `GET /apps/<app>/config/<KEY>` →
 *   `{key, value}`;
 * - NDJSON deploy streams (`{"type":"log","line"}`… then `{"type":"result","ok",…}`, see `deploy-stream.ts`):
 *   `POST /apps/<app>/deploys` `{repository, commit, branch, objectDirectories?}`, `POST /apps/<app>/redeploy`,
 *   `POST /apps/<app>/rollback` `{deploy?}`, `POST /apps/<app>/config` `{set?: {K: v}, unset?: [K], deploy?: bool}`,
 *   `POST /apps/<app>/scale` `{scale: {service: n|"default"}}`, `POST /apps/<app>/restart` `{service?}`,
 *   `DELETE /apps/<app>` `{confirm: "<app>", volumes?: bool}`, `POST /apps/<app>/trust` `{trusted: bool}`,
 *   `POST /apps/<app>/domains` `{host, service?, port?}`, `DELETE /apps/<app>/domains/<host>`;
 * - `GET /apps/<app>/domains` → `{domains: [{host, service?, source, port?}]}`.
 * - `POST /apps/<app>/cancel` → `{app, cancelled?: <record>, stoppedChange, dropped}` once what held the app's
 *   turn has stopped (see `Deployer.cancel`); nothing running is an answer too, not an error.
 * Input that is refused before anything ran answers 400 (404 for an unknown app) with `{error}`. Who asks is the
 * {@link ACTOR_HEADER} header, kept in the deploy records.
 */
export function routeAppVerbs(api: Router, deployer: Deployer, operations: AppOperations): void {
  api.get('/apps', async (ctx) => {
    ctx.body = { apps: await operations.apps() };
  });
  api.get('/apps/:app', async (ctx) => {
    ctx.body = await operations.status(appParam(ctx));
  });
  api.get('/apps/:app/deploys', async (ctx) => {
    const deploys = await operations.deploys(appParam(ctx));
    ctx.body = { deploys: deploys.map(({ resolvedCompose: _compose, ...record }) => record) };
  });
  api.get('/apps/:app/deploys/:id', async (ctx) => {
    ctx.body = await operations.deploy(appParam(ctx), ctx.params.id ?? '');
  });
  api.get('/apps/:app/deploys/:id/log', async (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = (await operations.deploy(appParam(ctx), ctx.params.id ?? '')).log;
  });
  api.get('/apps/:app/logs', async (ctx) => {
    const app = appParam(ctx);
    const service = optionalString(ctx.query.service, 'service');
    const sinceText = optionalString(ctx.query.since, 'since');
    const tailText = optionalString(ctx.query.tail, 'tail');
    const since = sinceText === undefined ? undefined : parseSince(sinceText, new Date());
    if (tailText !== undefined && (!/^\d{1,6}$/.test(tailText) || Number(tailText) > MAX_TAIL)) {
      throw new OperationError(
        `--tail ${JSON.stringify(tailText.slice(0, 40))}: give a number of lines up to ${MAX_TAIL}`,
      );
    }
    const read = await operations.logs(app, service);
    const stop = new AbortController();
    const body = new PassThrough();
    body.on('error', () => undefined);
    ctx.res.once('close', () => {
      stop.abort();
    });
    const send = (event: Record<string, unknown>): void => {
      if (!body.destroyed && body.writable) body.write(`${JSON.stringify(event)}\n`);
    };
    ctx.type = 'application/x-ndjson';
    ctx.body = body;
    void read(
      {
        follow: flag(ctx.query.follow),
        ...(since !== undefined && { since }),
        ...(tailText !== undefined && { tail: Number(tailText) }),
        signal: stop.signal,
      },
      (line) => {
        send({ type: 'line', ...line });
      },
    )
      .then(
        () => {
          send({ type: 'end' });
        },
        (error: unknown) => {
          send({ type: 'error', error: (error as Error).message });
        },
      )
      .finally(() => body.end());
  });
  api.get('/apps/:app/config', async (ctx) => {
    ctx.body = { config: await operations.config(appParam(ctx), flag(ctx.query.reveal)) };
  });
  api.get('/apps/:app/config/:key', async (ctx) => {
    const key = ctx.params.key ?? '';
    ctx.body = { key, value: await operations.configValue(appParam(ctx), key) };
  });
  api.post('/apps/:app/deploys', async (ctx) => {
    const app = appParam(ctx);
    const body = await readJson(ctx.req);
    const request = {
      app,
      repository: requireString(body, 'repository'),
      commit: requireString(body, 'commit'),
      branch: requireString(body, 'branch'),
      ...(Array.isArray(body.objectDirectories) && { objectDirectories: body.objectDirectories.map(String) }),
    };
    const trigger: DeployTrigger = body.trigger === 'deploy' ? 'deploy' : 'push';
    await stream(ctx, (onLine) => deployer.deploy(request, onLine, origin(ctx, trigger)));
  });
  api.post('/apps/:app/redeploy', async (ctx) => {
    const app = appParam(ctx);
    await operations.requireApp(app);
    await stream(ctx, (onLine) => deployer.redeploy(app, onLine, origin(ctx, 'redeploy')));
  });
  api.post('/apps/:app/rollback', async (ctx) => {
    const app = appParam(ctx);
    const body = await readJson(ctx.req);
    const deployId = body.deploy === undefined ? undefined : requireString(body, 'deploy');
    await operations.requireApp(app);
    await stream(ctx, (onLine) => deployer.rollback(app, deployId, onLine, origin(ctx, 'rollback').by));
  });
  api.post('/apps/:app/config', async (ctx) => {
    const app = appParam(ctx);
    const body = await readJson(ctx.req);
    const set = stringMap(body.set, 'set');
    const unset = stringList(body.unset, 'unset');
    const deploy = body.deploy !== false;
    await stream(ctx, (onLine) => operations.changeConfig(app, { set, unset }, deploy, origin(ctx, 'config'), onLine));
  });
  api.post('/apps/:app/scale', async (ctx) => {
    const app = appParam(ctx);
    const body = await readJson(ctx.req);
    const changes = scaleChanges(body.scale);
    await stream(ctx, (onLine) => operations.scale(app, changes, origin(ctx, 'scale'), onLine));
  });
  api.post('/apps/:app/restart', async (ctx) => {
    const app = appParam(ctx);
    const body = await readJson(ctx.req);
    const service = body.service === undefined ? undefined : requireString(body, 'service');
    await stream(ctx, (onLine) => operations.restart(app, service, onLine));
  });
  api.post('/apps/:app/cancel', async (ctx) => {
    const app = appParam(ctx);
    await operations.requireApp(app);
    const { cancelled, ...outcome } = await deployer.cancel(app, actorOf(ctx));
    const { resolvedCompose: _compose, ...record } = cancelled ?? {};
    ctx.body = { ...outcome, ...(cancelled && { cancelled: record }) };
  });
  api.post('/apps/:app/trust', async (ctx) => {
    const app = appParam(ctx);
    const body = await readJson(ctx.req);
    if (typeof body.trusted !== 'boolean') throw new OperationError('trusted must be true or false');
    const trusted = body.trusted;
    await stream(ctx, (onLine) => operations.trust(app, trusted, onLine));
  });
  api.get('/apps/:app/domains', async (ctx) => {
    ctx.body = { domains: await operations.domains(appParam(ctx)) };
  });
  api.post('/apps/:app/domains', async (ctx) => {
    const app = appParam(ctx);
    const body = await readJson(ctx.req);
    const host = requireString(body, 'host');
    const service = body.service === undefined ? undefined : requireString(body, 'service');
    if (body.port !== undefined && typeof body.port !== 'number') throw new OperationError('port must be a number');
    const port = body.port;
    await stream(ctx, (onLine) =>
      operations.addDomain(
        app,
        host,
        { ...(service !== undefined && { service }), ...(port !== undefined && { port }) },
        origin(ctx, 'domains'),
        onLine,
      ),
    );
  });
  api.delete('/apps/:app/domains/:host', async (ctx) => {
    const app = appParam(ctx);
    const host = ctx.params.host ?? '';
    await stream(ctx, (onLine) => operations.removeDomain(app, host, origin(ctx, 'domains'), onLine));
  });
  api.delete('/apps/:app', async (ctx) => {
    const app = appParam(ctx);
    const body = await readJson(ctx.req);
    const confirm = typeof body.confirm === 'string' ? body.confirm : undefined;
    await stream(ctx, (onLine) => operations.destroy(app, confirm, body.volumes === true, onLine));
  });
}

type Context = RouterContext;

async function stream(ctx: Context, run: (onLine: (line: string) => void) => Promise<DeployResult>): Promise<void> {
  const body = await openDeployEvents(run);
  ctx.type = 'application/x-ndjson';
  ctx.body = body;
}

function appParam(ctx: Context): string {
  return validateAppName(ctx.params.app ?? '');
}

function origin(ctx: Context, trigger: DeployTrigger): DeployOrigin {
  const by = actorOf(ctx);
  return { trigger, ...(by !== undefined && { by }) };
}

/** Who asks, from the {@link ACTOR_HEADER} header: printable ASCII, at most 200 characters. */
function actorOf(ctx: Context): string | undefined {
  const actor = ctx.get(ACTOR_HEADER).slice(0, 200);
  return /^[\x20-\x7e]+$/.test(actor) ? actor : undefined;
}

function flag(value: unknown): boolean {
  return value === '1' || value === 'true';
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new OperationError(`${name} is given more than once`);
  return value;
}

/** The request's JSON object body (256 KiB at most; empty is `{}`). @throws OperationError for anything else. */
export async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  if (Number(request.headers['content-length'] ?? 0) > MAX_REQUEST_BYTES) {
    throw new OperationError(`the request is larger than ${MAX_REQUEST_BYTES / 1024} KiB`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES)
      throw new OperationError(`the request is larger than ${MAX_REQUEST_BYTES / 1024} KiB`);
    chunks.push(chunk as Buffer);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    throw new OperationError('the request body is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new OperationError('expected a JSON object');
  return parsed as Record<string, unknown>;
}

function requireString(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  if (typeof value !== 'string' || value === '') throw new OperationError(`${key} is required`);
  return value;
}

function stringMap(value: unknown, name: string): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new OperationError(`${name} must be an object`);
  const entries = Object.entries(value);
  if (entries.some(([, entry]) => typeof entry !== 'string'))
    throw new OperationError(`${name}'s values must be strings`);
  return Object.fromEntries(entries);
}

function stringList(value: unknown, name: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((entry) => typeof entry !== 'string')) {
    throw new OperationError(`${name} must be a list of strings`);
  }
  return value as string[];
}

function scaleChanges(value: unknown): ScaleChanges {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.keys(value).length === 0) {
    throw new OperationError('scale needs at least one SERVICE=N');
  }
  const changes: ScaleChanges = {};
  for (const [service, replicas] of Object.entries(value)) {
    if (replicas !== 'default' && typeof replicas !== 'number') {
      throw new OperationError(`${service}: replicas must be a number or "default"`);
    }
    changes[service] = replicas as number | 'default';
  }
  return changes;
}
