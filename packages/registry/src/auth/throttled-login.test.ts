import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import bcrypt from 'bcryptjs';
import Koa from 'koa';
import request from 'supertest';
import { loadRegistryConfig } from '../config.js';
import { errorMiddleware } from '../errors.js';
import { Metrics } from '../metrics.js';
import { createAuthMiddleware, type AuthState } from './basic-auth.js';

const PASSWORD = 'right password';
const dir = mkdtempSync(join(tmpdir(), 'swarmlet-throttled-login-'));
const htpasswdPath = join(dir, 'htpasswd');
writeFileSync(
  htpasswdPath,
  `ci:${bcrypt.hashSync(PASSWORD, 4)}\nops:${bcrypt.hashSync(PASSWORD, 4)}\nslow:${bcrypt.hashSync(PASSWORD, 8)}\n`,
);

interface Answer {
  status: number;
  retryAfter: string | undefined;
  body: string;
}

interface Throttle {
  burst: number;
  addressburst: number;
  refill: string;
}

/** The registry's auth in front of a 200, on a real socket, with a clock the test moves and the counter of 429s. */
class Guarded {
  clock = 0;
  readonly metrics = new Metrics();
  readonly server: Server;

  constructor(throttle: Throttle, maxconcurrentchecks = 2) {
    const config = loadRegistryConfig(
      { auth: { htpasswd: { path: htpasswdPath, maxconcurrentchecks, throttle } } },
      {},
    );
    const auth = createAuthMiddleware(config, this.metrics, () => this.clock);
    if (!auth) throw new Error('expected the auth middleware');
    const app = new Koa<AuthState>();
    app.use(errorMiddleware(() => undefined));
    app.use(auth);
    app.use((ctx) => {
      ctx.body = { user: ctx.state.user };
    });
    this.server = createServer(app.callback());
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  /** GET /v2/ as `user` with `password`, from the loopback address `from`. */
  get(user: string, password: string, from = '127.0.0.1'): Promise<Answer> {
    const { port } = this.server.address() as AddressInfo;
    const authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, path: '/v2/', localAddress: from, headers: { authorization }, agent: false },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => {
            const retryAfter = res.headers['retry-after'];
            resolve({ status: res.statusCode ?? 0, retryAfter, body });
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  throttledCount(): string | undefined {
    return /^registry_auth_throttled_total (\d+)$/m.exec(this.metrics.render())?.[1];
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
  }
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** Counts bcrypt comparisons in flight by wrapping the real `bcrypt.compare`, and remembers the most at once. */
function observeComparisons(): { calls: () => number; peak: () => number } {
  const realCompare: (password: string, hash: string) => Promise<boolean> = bcrypt.compare.bind(bcrypt);
  let inFlight = 0;
  let peak = 0;
  let calls = 0;
  jest.spyOn(bcrypt, 'compare').mockImplementation(async (password: string, hash: string) => {
    calls += 1;
    inFlight += 1;
    peak = Math.max(peak, inFlight);
    try {
      return await realCompare(password, hash);
    } finally {
      inFlight -= 1;
    }
  });
  return { calls: () => calls, peak: () => peak };
}

afterEach(() => {
  jest.restoreAllMocks();
});

describe('throttled Basic auth', () => {
  const servers: Guarded[] = [];
  const guarded = async (throttle: Throttle, maxconcurrentchecks?: number): Promise<Guarded> => {
    const server = new Guarded(throttle, maxconcurrentchecks);
    servers.push(server);
    await server.listen();
    return server;
  };
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
  });

  it('answers 429 TOOMANYREQUESTS with Retry-After after a burst of wrong passwords, without bcrypt, then lets one through after Retry-After', async () => {
    const registry = await guarded({ burst: 3, addressburst: 100, refill: '5s' });
    const comparisons = observeComparisons();
    const app = request(registry.server);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expect((await app.get('/v2/').set('Authorization', basic('ci', `guess ${attempt}`))).status).toBe(401);
    }
    expect(comparisons.calls()).toBe(3);
    const refused = await app.get('/v2/').set('Authorization', basic('ci', 'guess 3'));
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('5');
    expect(refused.body).toEqual({
      errors: [{ code: 'TOOMANYREQUESTS', message: 'too many failed logins; retry later' }],
    });
    expect((await app.get('/v2/').set('Authorization', basic('ci', PASSWORD))).status).toBe(429);
    expect(comparisons.calls()).toBe(3);
    expect(registry.throttledCount()).toBe('2');

    registry.clock += 4_999;
    expect((await app.get('/v2/').set('Authorization', basic('ci', 'guess 4'))).status).toBe(429);
    registry.clock += 1;
    expect((await app.get('/v2/').set('Authorization', basic('ci', 'guess 5'))).status).toBe(401);
    expect((await app.get('/v2/').set('Authorization', basic('ci', 'guess 6'))).status).toBe(429);
    registry.clock += 5_000;
    const allowed = await app.get('/v2/').set('Authorization', basic('ci', PASSWORD));
    expect(allowed.status).toBe(200);
    expect(allowed.body).toEqual({ user: 'ci' });
    expect(comparisons.calls()).toBe(5);
  });

  it('throttles one address and user without touching another user or another address', async () => {
    const registry = await guarded({ burst: 2, addressburst: 100, refill: '1m' });
    for (const guess of ['a', 'b']) expect((await registry.get('ci', guess, '127.0.0.2')).status).toBe(401);
    const refused = await registry.get('ci', 'c', '127.0.0.2');
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toBe('60');
    expect(JSON.parse(refused.body)).toMatchObject({ errors: [{ code: 'TOOMANYREQUESTS' }] });

    expect((await registry.get('ops', 'wrong', '127.0.0.2')).status).toBe(401);
    expect((await registry.get('ops', PASSWORD, '127.0.0.2')).status).toBe(200);
    expect((await registry.get('ci', 'wrong', '127.0.0.1')).status).toBe(401);
    expect((await registry.get('ci', PASSWORD, '127.0.0.1')).status).toBe(200);
  });

  it('throttles an address guessing across users, and lets remembered good credentials through from it', async () => {
    const registry = await guarded({ burst: 100, addressburst: 4, refill: '1m' });
    expect((await registry.get('ci', PASSWORD, '127.0.0.3')).status).toBe(200);
    for (const user of ['u1', 'u2', 'u3', 'u4']) expect((await registry.get(user, 'x', '127.0.0.3')).status).toBe(401);
    expect((await registry.get('u5', 'x', '127.0.0.3')).status).toBe(429);
    expect((await registry.get('ops', PASSWORD, '127.0.0.3')).status).toBe(429);
    expect((await registry.get('ci', PASSWORD, '127.0.0.3')).status).toBe(200);
    expect((await registry.get('u5', 'x', '127.0.0.4')).status).toBe(401);
  });

  it('keeps serving the right password while an attacker floods wrong ones, never comparing more than the cap at once', async () => {
    const registry = await guarded({ burst: 20, addressburst: 100, refill: '1h' }, 2);
    const comparisons = observeComparisons();
    const attack = Array.from({ length: 80 }, (_, index) => registry.get('slow', `guess ${index}`, '127.0.0.5'));
    const users = Array.from({ length: 20 }, () => registry.get('slow', PASSWORD, '127.0.0.1'));
    const [attacked, served] = await Promise.all([Promise.all(attack), Promise.all(users)]);

    expect(served.map((answer) => answer.status)).toEqual(Array.from({ length: 20 }, () => 200));
    const statuses = attacked.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 401)).toHaveLength(20);
    expect(statuses.filter((status) => status === 429)).toHaveLength(60);
    expect(comparisons.calls()).toBe(21);
    // The cap is what must hold; whether two comparisons happen to overlap depends on the machine's load.
    expect(comparisons.peak()).toBeGreaterThanOrEqual(1);
    expect(comparisons.peak()).toBeLessThanOrEqual(2);
    expect(registry.throttledCount()).toBe('60');
  }, 120_000);
});
