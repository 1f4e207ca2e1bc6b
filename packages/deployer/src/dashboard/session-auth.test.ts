import { mkdtempSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadHtpasswd, LoginThrottle } from '@swarmlet/common';
import bcrypt from 'bcryptjs';
import request from 'supertest';
import { createAgentApp } from '../agent.js';
import { AppOperations } from '../app-operations.js';
import { Deployer } from '../deployer.js';
import { connectEngine } from '../docker/engine.js';
import { NodeOperations } from '../node-operations.js';
import { RegistryCatalog } from '../registry-catalog.js';
import { isTls } from './session-auth.js';
import { SessionStore } from './sessions.js';

const PASSWORD = 'correct horse battery';

/**
 * The dashboard's door in process, on the real engine and temporary directories: sign-in with the htpasswd entry,
 * the session cookie, redirects and 401s without a session, the CSRF token and origin checks, the sign-in
 * throttle, sign-out, and session expiry. The pages themselves are driven in a browser in test/e2e/dashboard.test.ts.
 */
describe('the dashboard sign-in, sessions and CSRF protection', () => {
  const dir = mkdtempSync(join(tmpdir(), 'swarmlet-dashboard-auth-'));
  const docker = connectEngine();
  const deployer = new Deployer(docker, {
    workDir: join(dir, 'work'),
    historyDir: join(dir, 'deploys'),
    appSettingsDir: join(dir, 'apps'),
    registry: '127.0.0.1:1',
    dockerConfig: join(dir, 'docker-config'),
    rootDomain: 'example.test',
    username: 'admin',
    traefikNetwork: 'traefik-public',
    version: 'test',
    publishMode: 'host',
    path: process.env.PATH ?? '/usr/bin:/bin',
    convergeTimeoutMs: 10_000,
    entrypointTimeoutMs: 10_000,
    concurrency: 1,
  });
  const operations = new AppOperations(docker, deployer, {
    registry: '127.0.0.1:1',
    reposDir: join(dir, 'repos'),
    workDir: join(dir, 'work'),
    path: process.env.PATH ?? '/usr/bin:/bin',
    convergeTimeoutMs: 10_000,
    rootDomain: 'example.test',
  });
  const htpasswdFile = join(dir, 'htpasswd');
  writeFileSync(htpasswdFile, `admin:${bcrypt.hashSync(PASSWORD, 4)}\n`);
  let now = 1_000_000;
  const sessions = new SessionStore({ idleMs: 60_000, maxAgeMs: 600_000 }, () => now);
  const server = createAgentApp(
    docker,
    {
      deployer,
      operations,
      nodes: new NodeOperations(docker),
      catalog: new RegistryCatalog('127.0.0.1:1', undefined),
    },
    'token-0123456789',
    {
      htpasswd: loadHtpasswd(htpasswdFile),
      sessions,
      throttle: new LoginThrottle({ burst: 3, addressBurst: 10, refillMs: 3_600_000 }),
      behindProxy: true,
    },
  ).callback();
  const app = `dash-${process.pid}`;

  const signIn = (user: string, password: string, headers: Record<string, string> = {}) =>
    request(server)
      .post('/signin')
      .set(headers)
      .type('form')
      .send({ user, password, next: `/apps/${app}` });

  /** Signs in as admin; resolves with the cookie header and the CSRF token the page hands the front end. */
  const session = async (forwardedFor = '192.0.2.1') => {
    const answer = await signIn('admin', PASSWORD, { 'X-Forwarded-For': forwardedFor });
    expect(answer.status).toBe(303);
    const cookie = (answer.headers['set-cookie'] as unknown as string[])[0] ?? '';
    const page = await request(server)
      .get('/')
      .set('Cookie', cookie.split(';')[0] ?? '');
    const csrf = /name="csrf-token" content="([^"]+)"/.exec(page.text)?.[1] ?? '';
    return { cookie: cookie.split(';')[0] ?? '', csrf, setCookie: cookie };
  };

  beforeAll(async () => {
    await deployer.appSettings.update(app, () => ({ config: { SECRET: 'kept-secret' }, scale: {} }));
  });

  it('sends every page to sign-in and answers every API route 401 without a session', async () => {
    for (const path of ['/', `/apps/${app}`, '/registry', '/nodes', '/anything/else']) {
      const answer = await request(server).get(path);
      expect(answer.status).toBe(303);
      expect(answer.headers.location).toBe(`/signin?next=${encodeURIComponent(path)}`);
    }
    for (const [method, path] of [
      ['get', '/api/v1/apps'],
      ['get', `/api/v1/apps/${app}/config?reveal=1`],
      ['get', `/api/v1/apps/${app}/events`],
      ['get', '/api/v1/registry'],
      ['get', '/api/v1/nodes'],
      ['post', `/api/v1/apps/${app}/config`],
      ['delete', '/api/v1/registry/x/tags/y'],
    ] as const) {
      const answer = await request(server)[method](path);
      expect(answer.status).toBe(401);
      expect(answer.text).not.toContain('kept-secret');
    }
    const form = await request(server).get('/signin?next=/nodes');
    expect(form.status).toBe(200);
    expect(form.text).toContain('value="/nodes"');
    expect(form.headers['content-security-policy']).toContain("default-src 'self'");
  });

  it('refuses a wrong password with the form again, and signs in with the htpasswd entry to an HttpOnly, SameSite=Strict cookie', async () => {
    const wrong = await signIn('admin', 'wrong password', { 'X-Forwarded-For': '192.0.2.50' });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('Wrong user or password.');
    expect(wrong.headers['set-cookie']).toBeUndefined();
    const good = await signIn('admin', PASSWORD, { 'X-Forwarded-For': '192.0.2.50' });
    expect(good.status).toBe(303);
    expect(good.headers.location).toBe(`/apps/${app}`);
    const cookie = (good.headers['set-cookie'] as unknown as string[])[0] ?? '';
    expect(cookie).toMatch(/^swarmlet_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/$/);
    const tls = await signIn('admin', PASSWORD, { 'X-Forwarded-For': '192.0.2.50', 'X-Forwarded-Proto': 'https' });
    expect((tls.headers['set-cookie'] as unknown as string[])[0]).toContain('; Secure');
    const apps = await request(server)
      .get('/api/v1/apps')
      .set('Cookie', cookie.split(';')[0] ?? '');
    expect(apps.status).toBe(200);
    expect(apps.body).toHaveProperty('apps');
  });

  it('goes only to a path on this site after sign-in', async () => {
    for (const next of ['https://evil.example/', '//evil.example/', '/\\evil.example']) {
      const answer = await request(server)
        .post('/signin')
        .set('X-Forwarded-For', '192.0.2.60')
        .type('form')
        .send({ user: 'admin', password: PASSWORD, next });
      expect(answer.headers.location).toBe('/');
    }
  });

  it('refuses a change without the CSRF token, with a wrong one, or from another site; takes it with both', async () => {
    const { cookie, csrf } = await session();
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const change = () =>
      request(server)
        .post(`/api/v1/apps/${app}/config`)
        .set('Cookie', cookie)
        .send({ set: { GREETING: 'hello' }, deploy: false });
    const missing = await change();
    expect(missing.status).toBe(403);
    expect((missing.body as { error: string }).error).toContain('X-CSRF-Token');
    expect((await change().set('X-CSRF-Token', `${csrf.slice(1)}x`)).status).toBe(403);
    const crossSite = await change().set('X-CSRF-Token', csrf).set('Sec-Fetch-Site', 'cross-site');
    expect(crossSite.status).toBe(403);
    const otherOrigin = await change().set('X-CSRF-Token', csrf).set('Origin', 'http://evil.example');
    expect(otherOrigin.status).toBe(403);
    expect((await deployer.appSettings.get(app)).config).toEqual({ SECRET: 'kept-secret' });
    const taken = await change().set('X-CSRF-Token', csrf).set('Sec-Fetch-Site', 'same-origin');
    expect(taken.status).toBe(200);
    expect(taken.text).toContain('"type":"result"');
    expect((await deployer.appSettings.get(app)).config).toEqual({ SECRET: 'kept-secret', GREETING: 'hello' });
    const crossSiteSignIn = await signIn('admin', PASSWORD, { Origin: 'http://evil.example' });
    expect(crossSiteSignIn.status).toBe(403);
  });

  it('throttles failed sign-ins per address, before the password is checked', async () => {
    const address = { 'X-Forwarded-For': '198.51.100.7' };
    for (let attempt = 0; attempt < 3; attempt += 1) expect((await signIn('admin', 'guess', address)).status).toBe(401);
    const throttled = await signIn('admin', PASSWORD, address);
    expect(throttled.status).toBe(429);
    expect(throttled.text).toContain('Too many failed sign-ins');
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
    expect((await signIn('admin', PASSWORD, { 'X-Forwarded-For': '198.51.100.8' })).status).toBe(303);
  });

  it('signs out, and ends a session left idle or past its age', async () => {
    const { cookie, csrf } = await session('192.0.2.2');
    expect((await request(server).post('/signout').set('Cookie', cookie)).status).toBe(403);
    expect((await request(server).post('/signout').set('Cookie', cookie).set('X-CSRF-Token', csrf)).status).toBe(204);
    expect((await request(server).get('/api/v1/apps').set('Cookie', cookie)).status).toBe(401);

    const idle = await session('192.0.2.3');
    now += 59_000;
    expect((await request(server).get('/nodes').set('Cookie', idle.cookie)).status).toBe(200);
    now += 60_000;
    expect((await request(server).get('/nodes').set('Cookie', idle.cookie)).status).toBe(303);

    const old = await session('192.0.2.4');
    for (let step = 0; step < 11; step += 1) {
      now += 55_000;
      await request(server).get('/api/v1/apps').set('Cookie', old.cookie);
    }
    expect((await request(server).get('/api/v1/apps').set('Cookie', old.cookie)).status).toBe(401);
  });

  it('serves the front end and its libraries from the agent, with no session needed for code', async () => {
    for (const [path, type] of [
      ['/assets/main.js', 'text/javascript'],
      ['/assets/style.css', 'text/css'],
      ['/assets/vendor/preact.js', 'text/javascript'],
      ['/assets/vendor/preact-hooks.js', 'text/javascript'],
      ['/assets/vendor/htm.js', 'text/javascript'],
    ] as const) {
      const answer = await request(server).get(path);
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toContain(type);
    }
    expect((await request(server).get('/assets/../package.json')).status).toBe(404);
    expect((await request(server).get('/assets/%2e%2e/src/agent.ts')).status).toBe(404);
  });
});

describe('isTls', () => {
  const asked = (encrypted: boolean, forwardedProto: string) => ({
    req: { socket: { encrypted } } as unknown as IncomingMessage,
    get: (name: string) => (name === 'X-Forwarded-Proto' ? forwardedProto : ''),
  });

  it('believes X-Forwarded-Proto only from a proxy in front; a TLS socket is TLS either way', () => {
    expect(isTls(asked(false, 'https'), true)).toBe(true);
    expect(isTls(asked(false, 'https'), false)).toBe(false);
    expect(isTls(asked(false, 'http, https'), true)).toBe(false);
    expect(isTls(asked(true, ''), false)).toBe(true);
    expect(isTls(asked(false, ''), true)).toBe(false);
  });
});
