import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentClient } from '@swarmlet/deployer';
import { commandRefusal, commandScope, gitRefusal } from './access.js';
import { ADMIN, deployerOf, KeyRoleError, parseKeyRole } from './key-role.js';
import { agentClientFor } from './scoped-agent-client.js';

const shop = deployerOf(['shop', 'blog']);
const words = (text: string) => text.split(' ');

describe('commandScope', () => {
  it.each([
    ['help', 'open'],
    ['apps', 'listing'],
    ['apps --json', 'listing'],
    ['apps trust shop', 'admin'],
    ['apps untrust shop', 'admin'],
    ['apps shop', 'admin'],
    ['keys list', 'admin'],
    ['keys add --role deployer --apps shop', 'admin'],
    ['nodes', 'admin'],
    ['nodes ls', 'admin'],
    ['frobnicate shop', 'admin'],
    ['status shop', 'app 1'],
    ['logs shop web -f', 'app 1'],
    ['scale shop web=2', 'app 1'],
    ['restart shop', 'app 1'],
    ['deploys shop', 'app 1'],
    ['rollback shop', 'app 1'],
    ['redeploy shop', 'app 1'],
    ['destroy shop --confirm shop', 'app 1'],
    ['cancel shop', 'app 1'],
    ['config show shop', 'app 2'],
    ['config set shop A=1', 'app 2'],
    ['domains shop', 'app 1'],
    ['domains add shop a.example.com', 'app 2'],
    ['domains remove shop a.example.com', 'app 2'],
  ])('%s is %s', (text, expected) => {
    const scope = commandScope(words(text));
    expect(scope.kind === 'app' ? `app ${scope.appAt}` : scope.kind).toBe(expected);
  });
});

describe('commandRefusal', () => {
  it('lets an admin run everything', () => {
    for (const text of ['keys list', 'nodes', 'apps trust x', 'status registry', 'logs -f shop', 'frobnicate']) {
      expect(commandRefusal(ADMIN, words(text))).toBeUndefined();
    }
  });

  it.each([
    'help',
    'apps',
    'apps --json',
    'status shop',
    'logs blog web -f --since 10m',
    'config set shop A=1 --no-deploy',
    'destroy shop --confirm shop',
    'domains add blog www.example.com',
    'cancel shop',
    'status',
    'config show',
  ])('lets a deployer of shop and blog run %s', (text) => {
    expect(commandRefusal(shop, words(text))).toBeUndefined();
  });

  it.each([
    ['keys list', '`keys list` needs an admin key: this key is a deployer of shop, blog'],
    ['keys add --role admin', '`keys add` needs an admin key: this key is a deployer of shop, blog'],
    ['nodes', '`nodes` needs an admin key: this key is a deployer of shop, blog'],
    ['apps trust shop', '`apps trust` needs an admin key: this key is a deployer of shop, blog'],
    ['status other', 'this key is a deployer of shop, blog: it cannot reach the app "other"'],
    ['config get other KEY', 'this key is a deployer of shop, blog: it cannot reach the app "other"'],
    ['domains remove other a.example.com', 'this key is a deployer of shop, blog: it cannot reach the app "other"'],
    [
      'redeploy registry',
      '"registry" is a core app: only admin keys reach it, and this key is a deployer of shop, blog',
    ],
    ['logs --since 10m other', 'this key is a deployer of shop, blog: name the app right after `logs` (logs APP …)'],
    ['logs -f shop', 'this key is a deployer of shop, blog: name the app right after `logs` (logs APP …)'],
    [
      'config show --reveal other',
      'this key is a deployer of shop, blog: name the app right after `config show` (config show APP …)',
    ],
  ])('refuses a deployer %s', (text, reason) => {
    expect(commandRefusal(shop, words(text))).toBe(reason);
  });
});

describe('gitRefusal', () => {
  it('lets a deployer push and fetch its apps only, never a core repository', () => {
    expect(gitRefusal(shop, 'receive-pack', 'shop')).toBeUndefined();
    expect(gitRefusal(shop, 'upload-pack', 'blog')).toBeUndefined();
    expect(gitRefusal(shop, 'receive-pack', 'new')).toBe(
      'this key is a deployer of shop, blog: it cannot reach the app "new" (git receive-pack refused)',
    );
    expect(gitRefusal(shop, 'upload-pack', 'registry')).toMatch(/^"registry" is a core app/);
    for (const core of ['registry', 'router', 'deployer']) {
      expect(gitRefusal(ADMIN, 'receive-pack', core)).toBeUndefined();
    }
  });
});

describe('parseKeyRole', () => {
  it('reads admin (the default) and deployer with its apps', () => {
    expect(parseKeyRole(undefined, undefined)).toEqual(ADMIN);
    expect(parseKeyRole('admin', undefined)).toEqual(ADMIN);
    expect(parseKeyRole('deployer', 'shop, blog,shop')).toEqual({ role: 'deployer', apps: ['shop', 'blog'] });
  });

  it.each([
    ['admin', 'shop', '--apps goes with --role deployer'],
    [undefined, 'shop', '--apps goes with --role deployer'],
    ['deployer', undefined, 'a deployer key needs the apps it may deploy'],
    ['deployer', '', 'a deployer key needs the apps it may deploy'],
    ['deployer', 'shop,', 'invalid app name ""'],
    ['deployer', '../etc', 'invalid app name "../etc"'],
    ['deployer', 'Shop', 'invalid app name "Shop"'],
    ['deployer', 'shop,router', 'router is a core app of the platform: only admin keys reach it'],
    ['root', undefined, 'unknown role "root"'],
  ])('refuses --role %s --apps %s', (role, apps, message) => {
    expect(() => parseKeyRole(role, apps)).toThrow(KeyRoleError);
    expect(() => parseKeyRole(role, apps)).toThrow(message);
  });
});

describe('agentClientFor', () => {
  let agent: Server;
  let url = '';
  const asked: string[] = [];

  beforeAll(async () => {
    agent = createServer((request, response) => {
      asked.push(request.url ?? '');
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify(request.url === '/v1/apps' ? { apps: [{ app: 'shop' }, { app: 'other' }] } : { app: 'x' }),
      );
    });
    await new Promise<void>((resolve) => agent.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(agent.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => agent.close(resolve));
  });

  it("overrides every request method of the agent's client, so none reaches the agent unchecked", () => {
    const methods = (prototype: object) =>
      Object.getOwnPropertyNames(prototype).filter((name) => name !== 'constructor');
    const scoped = Object.getPrototypeOf(agentClientFor({ url, token: 't' }, shop)) as object;
    const requests = methods(AgentClient.prototype).filter((name) => name !== 'send');
    expect(requests.length).toBeGreaterThanOrEqual(4);
    expect(methods(scoped)).toEqual(expect.arrayContaining(requests));
  });

  it("gives a deployer its own apps in the listing and refuses other apps' paths before sending", async () => {
    const client = agentClientFor({ url, token: 't' }, shop);
    expect(await client.json<{ apps: { app: string }[] }>('/apps')).toEqual({ apps: [{ app: 'shop' }] });
    expect(await client.json('/apps/shop')).toEqual({ app: 'x' });
    asked.length = 0;
    await expect(client.json('/apps/other')).rejects.toThrow(
      'this key is a deployer of shop, blog: it cannot reach that',
    );
    await expect(client.json('/apps/%72egistry')).rejects.toThrow('cannot reach that');
    await expect(client.json('/nodes')).rejects.toThrow('cannot reach that');
    await expect(client.stream('DELETE', '/apps/other', {}, () => undefined)).rejects.toThrow('cannot reach that');
    await expect(client.events('/apps/other/logs', () => undefined, new AbortController().signal)).rejects.toThrow(
      'cannot reach that',
    );
    await expect(client.change('POST', '/apps/other/cancel', {})).rejects.toThrow('cannot reach that');
    expect(asked).toEqual([]);
    const admin = agentClientFor({ url, token: 't' }, ADMIN);
    expect(await admin.json<{ apps: unknown[] }>('/apps')).toEqual({ apps: [{ app: 'shop' }, { app: 'other' }] });
  });
});
