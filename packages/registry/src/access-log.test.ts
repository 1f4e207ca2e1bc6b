import { Agent, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { closeServer } from '@swarmlet/common';
import Koa from 'koa';
import request from 'supertest';
import { accessLog } from './access-log.js';
import { loadRegistryConfig } from './config.js';
import { errorMiddleware, RegistryError } from './errors.js';
import { captureLogger } from '../../../test/support/capture.js';

const captureLog = () => captureLogger('registry');

async function until<T>(probe: () => T | undefined): Promise<T> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('condition not met in time');
}

function app(out: ReturnType<typeof captureLog>, disabled = false): Koa {
  const koa = new Koa();
  koa.silent = true;
  koa.use(errorMiddleware(() => undefined));
  const middleware = accessLog(out.log, loadRegistryConfig({ log: { accesslog: { disabled } } }, {}));
  if (middleware) koa.use(middleware);
  koa.use(async (ctx) => {
    if (ctx.path === '/refused') throw new RegistryError('DENIED');
    if (ctx.path === '/stream') {
      const body = new PassThrough();
      body.write('partial');
      ctx.body = body;
      return;
    }
    let size = 0;
    for await (const chunk of ctx.req) size += (chunk as Buffer).length;
    ctx.body = { size };
  });
  return koa;
}

async function listening(koa: Koa): Promise<{ server: Server; port: number }> {
  const server = koa.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function send(
  port: number,
  agent: Agent,
  method: string,
  path: string,
  body?: Buffer,
): Promise<{ status: number | undefined; text: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port, method, path, agent }, (response) => {
      const parts: Buffer[] = [];
      response.on('data', (chunk: Buffer) => parts.push(chunk));
      response.on('end', () => {
        resolve({ status: response.statusCode, text: Buffer.concat(parts).toString('utf8') });
      });
    });
    outgoing.on('error', reject);
    if (body) outgoing.write(body);
    outgoing.end();
  });
}

describe('accessLog', () => {
  it('logs one line per request with method, path, status, duration, bytes, remote address and user', async () => {
    const out = captureLog();
    const response = await request(app(out).callback())
      .put('/v2/app/blobs/uploads/1?digest=sha256:abc')
      .send('x'.repeat(1000));
    expect(response.body).toEqual({ size: 1000 });
    const [line] = await until(() => (out.lines().length > 0 ? out.lines() : undefined));
    expect(out.lines()).toHaveLength(1);
    expect(line).toEqual(
      expect.objectContaining({
        level: 30,
        msg: 'request',
        method: 'PUT',
        path: '/v2/app/blobs/uploads/1',
        status: 200,
        durationMs: expect.any(Number) as unknown,
        remoteAddress: expect.stringMatching(/127\.0\.0\.1$/) as unknown,
      }),
    );
    expect(line?.bytesIn).toBeGreaterThan(1000);
    expect(line?.bytesOut).toBeGreaterThan(JSON.stringify(response.body).length);
    expect(line).not.toHaveProperty('user');
    expect(out.text()).not.toContain('sha256:abc');
  });

  it('logs refused requests with the status the error middleware answered', async () => {
    const out = captureLog();
    await request(app(out).callback()).get('/refused').expect(403);
    const [line] = await until(() => (out.lines().length > 0 ? out.lines() : undefined));
    expect(line).toEqual(expect.objectContaining({ method: 'GET', path: '/refused', status: 403 }));
  });

  it('counts each request of a keep-alive connection on its own, chunked bodies included', async () => {
    const out = captureLog();
    const { server, port } = await listening(app(out));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const upload = await send(port, agent, 'PATCH', '/upload', Buffer.alloc(200_000, 1));
      const small = await send(port, agent, 'GET', '/small');
      expect([upload.text, small.text]).toEqual(['{"size":200000}', '{"size":0}']);
      const lines = await until(() => (out.lines().length === 2 ? out.lines() : undefined));
      const [first, second] = lines.map((line) => [line.bytesIn, line.bytesOut] as [number, number]);
      expect(first?.[0]).toBeGreaterThan(200_000);
      expect(first?.[0]).toBeLessThan(201_000);
      expect(second?.[0]).toBeGreaterThan(0);
      expect(second?.[0]).toBeLessThan(1_000);
      expect(second?.[1]).toBeLessThan(1_000);
    } finally {
      agent.destroy();
      await closeServer(server);
    }
  });

  it('logs a response the client abandoned as aborted', async () => {
    const out = captureLog();
    const { server, port } = await listening(app(out));
    try {
      await new Promise<void>((resolve, reject) => {
        const outgoing = httpRequest({ host: '127.0.0.1', port, path: '/stream' }, (response) => {
          response.once('data', () => {
            outgoing.destroy();
            resolve();
          });
        });
        outgoing.on('error', (error: NodeJS.ErrnoException) => {
          if (error.code !== 'ECONNRESET') reject(error);
        });
        outgoing.end();
      });
      const [line] = await until(() => (out.lines().length > 0 ? out.lines() : undefined));
      expect(line).toEqual(expect.objectContaining({ path: '/stream', status: 200, aborted: true }));
    } finally {
      await closeServer(server);
    }
  });

  it('is absent when log.accesslog.disabled is set', () => {
    const out = captureLog();
    expect(accessLog(out.log, loadRegistryConfig({}, { REGISTRY_LOG_ACCESSLOG_DISABLED: 'true' }))).toBeUndefined();
  });

  it("keeps credentials out of the registry's log even when request headers are logged by mistake", async () => {
    const out = captureLog();
    const token = Buffer.from('ci:s3cret-pass').toString('base64');
    await request(app(out).callback())
      .get('/v2/')
      .set('Authorization', `Basic ${token}`)
      .set('Cookie', 'session=c00kie');
    await until(() => (out.lines().length > 0 ? true : undefined));
    out.log.info({ headers: { authorization: `Basic ${token}`, cookie: 'session=c00kie' } }, 'headers');
    out.log.info({ req: { headers: { authorization: `Basic ${token}` } } }, 'request headers');
    out.log.info({ auth: { username: 'ci', password: 's3cret-pass' } }, 'login');
    const text = out.text();
    expect(text).not.toContain(token);
    expect(text).not.toContain('s3cret-pass');
    expect(text).not.toContain('c00kie');
    expect(text).toContain('[redacted]');
  });
});
