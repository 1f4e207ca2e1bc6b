import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, createLogger, loadHtpasswd, LoginThrottle } from '@swarmlet/common';
import bcrypt from 'bcryptjs';
import Koa from 'koa';
import request from 'supertest';
import { accessLog } from '../access-log.js';
import { loadRegistryConfig, type RegistryConfig } from '../config.js';
import { errorMiddleware } from '../errors.js';
import { basicAuth, createAuthMiddleware, type AuthState } from './basic-auth.js';
import { captureLogger } from '../../../../test/support/capture.js';

const PASSWORD = 'correct horse:battery staple';
const dir = mkdtempSync(join(tmpdir(), 'swarmlet-basic-auth-'));
const htpasswdPath = join(dir, 'htpasswd');
writeFileSync(htpasswdPath, `# pushers\nci:${bcrypt.hashSync(PASSWORD, 4)}\n`);

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

const captureLog = () => captureLogger('registry');

function registryApp(config: RegistryConfig, log: ReturnType<typeof createLogger>): Koa<AuthState> {
  const app = new Koa<AuthState>();
  app.use(errorMiddleware(() => undefined));
  const logRequests = accessLog(log, config);
  const auth = createAuthMiddleware(config);
  if (!logRequests || !auth) throw new Error('expected access log and auth middleware');
  app.use(logRequests);
  app.use(auth);
  app.use((ctx) => {
    ctx.body = ctx.path === '/v2/' ? {} : { user: ctx.state.user };
  });
  return app;
}

describe('basic auth', () => {
  const config = loadRegistryConfig({ auth: { htpasswd: { realm: 'Swarmlet Registry', path: htpasswdPath } } }, {});
  const out = captureLog();
  const server = registryApp(config, out.log).callback();

  it('challenges a request without credentials on /v2/ with the spec error and WWW-Authenticate', async () => {
    const response = await request(server).get('/v2/');
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Basic realm="Swarmlet Registry"');
    expect(response.body).toEqual({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });
  });

  it('refuses a wrong password, an unknown user and malformed headers with 401 and the challenge', async () => {
    for (const authorization of [
      basic('ci', 'wrong'),
      basic('ci', PASSWORD.toUpperCase()),
      basic('nobody', PASSWORD),
      basic('', PASSWORD),
      `Bearer ${Buffer.from(`ci:${PASSWORD}`).toString('base64')}`,
      'Basic',
      'Basic !!!notbase64',
      `Basic ${Buffer.from('ci').toString('base64')}`,
    ]) {
      const response = await request(server).get('/v2/ci/app/tags/list').set('Authorization', authorization);
      expect(response.status).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Basic realm="Swarmlet Registry"');
      expect(response.body).toEqual({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });
    }
  });

  it('answers HEAD with 401, the challenge and no body', async () => {
    const response = await request(server).head('/v2/ci/app/manifests/latest');
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Basic realm="Swarmlet Registry"');
    expect(response.text).toBeUndefined();
  });

  it('lets good credentials through on every path and records the user', async () => {
    const root = await request(server).get('/v2/').set('Authorization', basic('ci', PASSWORD));
    expect(root.status).toBe(200);
    const other = await request(server).get('/v2/ci/app/tags/list').set('Authorization', basic('ci', PASSWORD));
    expect(other.status).toBe(200);
    expect(other.body).toEqual({ user: 'ci' });
    const lowerScheme = await request(server)
      .get('/v2/')
      .set('Authorization', `basic  ${Buffer.from(`ci:${PASSWORD}`).toString('base64')}`);
    expect(lowerScheme.status).toBe(200);
  });

  it('logs the user of authenticated requests and never a password or the Authorization header', () => {
    const text = out.text();
    const lines = text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.some((line) => line.user === 'ci' && line.status === 200)).toBe(true);
    expect(lines.filter((line) => line.status === 401).every((line) => line.user === undefined)).toBe(true);
    expect(text).not.toContain('correct horse');
    expect(text).not.toContain('battery staple');
    expect(text).not.toContain(Buffer.from(`ci:${PASSWORD}`).toString('base64'));
    expect(text).not.toMatch(/basic /i);
    expect(text).not.toContain('$2');
  });

  it('quotes the realm in the challenge', async () => {
    const app = new Koa();
    app.use(errorMiddleware(() => undefined));
    const throttle = new LoginThrottle({ burst: 10, addressBurst: 100, refillMs: 1000 });
    app.use(basicAuth(loadHtpasswd(htpasswdPath), { realm: 'say "hi" \\ bye', throttle }));
    const response = await request(app.callback()).get('/v2/');
    expect(response.headers['www-authenticate']).toBe('Basic realm="say \\"hi\\" \\\\ bye"');
  });
});

describe('createAuthMiddleware', () => {
  it('is undefined when auth is not configured', () => {
    expect(createAuthMiddleware(loadRegistryConfig({}, {}))).toBeUndefined();
  });

  it('stops start-up naming auth.htpasswd.path when the file has a plaintext entry', () => {
    const plain = join(dir, 'plain');
    writeFileSync(plain, 'ci:letmein\n');
    const config = loadRegistryConfig({}, { REGISTRY_AUTH: 'htpasswd', REGISTRY_AUTH_HTPASSWD_PATH: plain });
    expect(() => createAuthMiddleware(config)).toThrow(ConfigError);
    expect(() => createAuthMiddleware(config)).toThrow(/auth\.htpasswd\.path: .*plain line 1 \(user ci\)/);
  });
});
