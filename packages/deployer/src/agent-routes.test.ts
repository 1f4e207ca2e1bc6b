import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { createAgentApp } from './agent.js';
import { NodeOperations } from './node-operations.js';
import { AppOperations } from './app-operations.js';
import { Deployer } from './deployer.js';
import { connectEngine } from './docker/engine.js';

const TOKEN = 'test-token-0123456789';

/**
 * The agent's day-2 API in process, on the real engine and temporary directories: the token, the answers for
 * apps known only by their settings, and every refusal. The verbs on a deployed app are exercised end to end
 * through the SSH door and the CLI in test/e2e/day2.test.ts.
 */
describe('the agent API for the day-2 verbs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'swarmlet-agent-api-'));
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
  const server = createAgentApp(docker, { deployer, operations, nodes: new NodeOperations(docker) }, TOKEN).callback();
  const app = `api-${process.pid}`;
  const auth = { Authorization: `Bearer ${TOKEN}` };
  const route = (method: string, path: string) => {
    const agent = request(server);
    if (method === 'post') return agent.post(path);
    if (method === 'delete') return agent.delete(path);
    return agent.get(path);
  };
  const events = (text: string) =>
    text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  beforeAll(async () => {
    await deployer.appSettings.update(app, () => ({ config: { SECRET: 'value-only-get-shows' }, scale: {} }));
    await deployer.appSettings.update('registry', () => ({ config: { X: '1' }, scale: {} }));
  });

  afterAll(async () => {
    await deployer.appSettings.remove('registry');
  });

  it('refuses every /v1 route without the token, and with a wrong one', async () => {
    const routes: [string, string][] = [
      ['get', '/v1/apps'],
      ['get', `/v1/apps/${app}`],
      ['get', `/v1/apps/${app}/deploys`],
      ['get', `/v1/apps/${app}/logs`],
      ['get', `/v1/apps/${app}/config?reveal=1`],
      ['get', `/v1/apps/${app}/config/SECRET`],
      ['post', `/v1/apps/${app}/config`],
      ['post', `/v1/apps/${app}/scale`],
      ['post', `/v1/apps/${app}/restart`],
      ['post', `/v1/apps/${app}/redeploy`],
      ['post', `/v1/apps/${app}/rollback`],
      ['delete', `/v1/apps/${app}`],
      ['get', '/v1/nodes'],
      ['get', '/v1/nodes/join-command'],
      ['post', '/v1/nodes/self/availability'],
      ['post', '/v1/nodes/self/labels'],
      ['post', `/v1/apps/${app}/trust`],
      ['get', `/v1/apps/${app}/domains`],
      ['post', `/v1/apps/${app}/domains`],
      ['delete', `/v1/apps/${app}/domains/a.example.test`],
    ];
    for (const [method, path] of routes) {
      for (const headers of [{}, { Authorization: 'Bearer wrong' }]) {
        const response = await route(method, path).set(headers);
        expect({ path, status: response.status }).toEqual({ path, status: 401 });
        expect(JSON.stringify(response.body)).not.toContain('value-only-get-shows');
      }
    }
  });

  it('answers 404 for an unknown node and 400 for a malformed node change, changing nothing', async () => {
    const unknown = await request(server)
      .post(`/v1/nodes/no-such-node-${process.pid}/availability`)
      .set(auth)
      .send({ availability: 'drain' });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({
      error: `no node "no-such-node-${process.pid}" in this swarm: \`nodes\` lists them`,
    });
    for (const [path, body] of [
      ['/v1/nodes/self/availability', { availability: 'sideways' }],
      ['/v1/nodes/self/labels', { key: 7, value: 'x' }],
      ['/v1/nodes/self/labels', { key: 'ok', value: 7 }],
    ] as const) {
      const refused = await request(server).post(path).set(auth).send(body);
      expect({ path, status: refused.status }).toEqual({ path, status: 400 });
    }
    const role = await request(server).get('/v1/nodes/join-command?role=boss').set(auth);
    expect(role.status).toBe(400);
  });

  it('answers 404 naming `apps` for an app that does not exist, on every route', async () => {
    const routes: [string, string][] = [
      ['get', '/v1/apps/nope'],
      ['get', '/v1/apps/nope/deploys'],
      ['get', '/v1/apps/nope/logs'],
      ['get', '/v1/apps/nope/config'],
      ['post', '/v1/apps/nope/config'],
      ['post', '/v1/apps/nope/restart'],
      ['post', '/v1/apps/nope/redeploy'],
      ['post', '/v1/apps/nope/rollback'],
      ['delete', '/v1/apps/nope'],
      ['post', '/v1/apps/nope/trust'],
      ['get', '/v1/apps/nope/domains'],
      ['post', '/v1/apps/nope/domains'],
      ['delete', '/v1/apps/nope/domains/a.example.test'],
    ];
    for (const [method, path] of routes) {
      const response = await route(method, path)
        .set(auth)
        .send({ set: { A: '1' }, confirm: 'nope', trusted: true, host: 'a.example.test' });
      expect({ path, status: response.status, body: response.body as unknown }).toEqual({
        path,
        status: 404,
        body: { error: 'unknown app "nope": `apps` lists the apps' },
      });
    }
  });

  it('serves the config masked, revealed and one key; lists an app known by its settings', async () => {
    const masked = await request(server).get(`/v1/apps/${app}/config`).set(auth);
    expect(masked.body).toEqual({ config: { SECRET: null } });
    const revealed = await request(server).get(`/v1/apps/${app}/config?reveal=1`).set(auth);
    expect(revealed.body).toEqual({ config: { SECRET: 'value-only-get-shows' } });
    const one = await request(server).get(`/v1/apps/${app}/config/SECRET`).set(auth);
    expect(one.body).toEqual({ key: 'SECRET', value: 'value-only-get-shows' });
    const status = await request(server).get(`/v1/apps/${app}`).set(auth);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ app, core: false, running: 0, desired: 0, services: [], urls: [] });
    expect(JSON.stringify(status.body)).not.toContain('value-only-get-shows');
    const apps = await request(server).get('/v1/apps').set(auth);
    expect((apps.body as { apps: { app: string }[] }).apps.map((entry) => entry.app)).toContain(app);
    expect(JSON.stringify(apps.body)).not.toContain('value-only-get-shows');
    expect((await request(server).get(`/v1/apps/${app}/deploys`).set(auth)).body).toEqual({ deploys: [] });
  });

  it('saves a config change without a deploy, streaming what it did but no value', async () => {
    const response = await request(server)
      .post(`/v1/apps/${app}/config`)
      .set(auth)
      .send({ set: { NEW: 'another-secret-value' }, unset: ['SECRET'], deploy: false });
    expect(response.status).toBe(200);
    expect(response.type).toBe('application/x-ndjson');
    expect(response.text).not.toContain('another-secret-value');
    expect(events(response.text).at(-1)).toEqual({ type: 'result', ok: true, status: 'succeeded' });
    expect((await deployer.appSettings.get(app)).config).toEqual({ NEW: 'another-secret-value' });
    const again = await request(server).post(`/v1/apps/${app}/redeploy`).set(auth);
    expect(events(again.text).at(-1)).toMatchObject({
      ok: false,
      error: `${app} has no successful deploy to deploy again: push it first`,
    });
  });

  it('trusts and untrusts an app, which status shows; keeps a domain for an app not deployed yet', async () => {
    const policy = async () =>
      ((await request(server).get(`/v1/apps/${app}`).set(auth)).body as { policy: string }).policy;
    expect(await policy()).toBe('untrusted');
    const trusted = await request(server).post(`/v1/apps/${app}/trust`).set(auth).send({ trusted: true });
    expect(events(trusted.text).at(-1)).toEqual({ type: 'result', ok: true, status: 'succeeded' });
    expect(await policy()).toBe('trusted');
    expect((await deployer.appSettings.get(app)).trusted).toBe(true);
    await request(server).post(`/v1/apps/${app}/trust`).set(auth).send({ trusted: false });
    expect(await policy()).toBe('untrusted');
    expect(await deployer.appSettings.get(app)).not.toHaveProperty('trusted');
    expect(((await request(server).get('/v1/apps/registry').set(auth)).body as { policy: string }).policy).toBe(
      'trusted',
    );

    const host = `www.${app}.example.test`;
    const added = await request(server).post(`/v1/apps/${app}/domains`).set(auth).send({ host, port: 8080 });
    expect(events(added.text).map((event) => event.line ?? event.type)).toEqual([
      `-----> domains of ${app}: added ${host}`,
      `saved: ${app} has no successful deploy yet, its next push applies it`,
      'result',
    ]);
    const listed = await request(server).get(`/v1/apps/${app}/domains`).set(auth);
    expect(listed.body).toEqual({ domains: [{ host, source: 'domains add', port: 8080 }] });
    const removed = await request(server).delete(`/v1/apps/${app}/domains/${host.toUpperCase()}`).set(auth);
    expect(events(removed.text).at(-1)).toMatchObject({ ok: true });
    expect((await deployer.appSettings.get(app)).domains).toBeUndefined();
  });

  it('refuses bad input with 400 and one clear error, changing nothing', async () => {
    const before = await deployer.appSettings.get(app);
    const cases: [string, string, unknown, string | RegExp][] = [
      ['post', `/v1/apps/${app}/config`, { set: { '1BAD': 'x' } }, /^invalid config key "1BAD"/],
      ['post', `/v1/apps/${app}/config`, { set: { A: 1 } }, "set's values must be strings"],
      ['post', `/v1/apps/${app}/config`, {}, 'no config key given'],
      ['post', `/v1/apps/${app}/config`, { unset: 'A' }, 'unset must be a list of strings'],
      ['post', `/v1/apps/${app}/scale`, {}, 'scale needs at least one SERVICE=N'],
      ['post', `/v1/apps/${app}/scale`, { scale: { web: 'x' } }, 'web: replicas must be a number or "default"'],
      ['post', `/v1/apps/${app}/scale`, { scale: { web: 2 } }, `${app} runs no service "web"`],
      ['post', `/v1/apps/${app}/restart`, { service: 'web' }, /runs no service "web"|has no running service/],
      ['get', `/v1/apps/${app}/logs?since=nonsense`, undefined, /^--since "nonsense" is neither a duration/],
      ['get', `/v1/apps/${app}/logs?tail=-1`, undefined, /^--tail "-1": give a number of lines/],
      ['get', `/v1/apps/${app}/logs?service=web`, undefined, `${app} runs no service "web"`],
      ['get', `/v1/apps/${app}/config/MISSING`, undefined, /^MISSING is not set for/],
      ['get', `/v1/apps/${app}/deploys/nope`, undefined, /^no deploy "nope" of/],
      ['delete', `/v1/apps/${app}`, {}, `destroying ${app} removes it for good: confirm with --confirm ${app}`],
      ['delete', `/v1/apps/${app}`, { confirm: 'other' }, /confirm with --confirm/],
      [
        'delete',
        '/v1/apps/registry',
        { confirm: 'registry' },
        'registry is a core app of the platform: it cannot be destroyed',
      ],
      ['get', '/v1/apps/..%2Fetc', undefined, /^invalid app name/],
      ['post', `/v1/apps/${app}/trust`, {}, 'trusted must be true or false'],
      [
        'post',
        '/v1/apps/registry/trust',
        { trusted: false },
        'registry is a core app of the platform: it is always trusted',
      ],
      ['post', `/v1/apps/${app}/domains`, {}, 'host is required'],
      ['post', `/v1/apps/${app}/domains`, { host: 'bad_host.test' }, /^invalid host name "bad_host.test"/],
      [
        'post',
        `/v1/apps/${app}/domains`,
        { host: 'REGISTRY.example.test' },
        /^registry.example.test is routed by the platform \(registry\): it cannot be added to /,
      ],
      [
        'post',
        `/v1/apps/${app}/domains`,
        { host: 'a.example.test', port: 70000 },
        '--port 70000: give a port from 1 to 65535',
      ],
      ['post', `/v1/apps/${app}/domains`, { host: 'a.example.test', port: '80' }, 'port must be a number'],
      ['delete', `/v1/apps/${app}/domains/nope.example.test`, undefined, /^"nope.example.test" is not a domain of/],
    ];
    for (const [method, path, body, message] of cases) {
      const call = route(method, path).set(auth);
      const response = await (body === undefined ? call : call.send(body as object));
      expect({ path, status: response.status }).toEqual({ path, status: 400 });
      expect((response.body as { error: string }).error).toMatch(message);
    }
    const invalidJson = await request(server)
      .post(`/v1/apps/${app}/config`)
      .set(auth)
      .set('Content-Type', 'application/json')
      .send('{');
    expect([invalidJson.status, invalidJson.body]).toEqual([400, { error: 'the request body is not JSON' }]);
    const huge = await request(server)
      .post(`/v1/apps/${app}/config`)
      .set(auth)
      .send({ set: { BIG: 'x'.repeat(300 * 1024) } });
    expect([huge.status, huge.body]).toEqual([400, { error: 'the request is larger than 256 KiB' }]);
    expect(await deployer.appSettings.get(app)).toEqual(before);
  });
});
