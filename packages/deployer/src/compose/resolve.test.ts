import yaml from 'js-yaml';
import { appUrls, buildSecretsFor, planBuilds, resolveCompose, type ComposeFile } from './resolve.js';

const compose = (): ComposeFile => ({
  version: '3.8',
  services: {
    web: {
      build: { context: '.', dockerfile: 'web.Dockerfile', args: ['MODE=prod'], cache_from: ['x/web:cache'] },
      deploy: {
        labels: [
          'traefik.enable=true',
          'traefik.http.routers.web.rule=Host(`app.example.test`) || Host(`www.example.test`)',
        ],
      },
    },
    worker: { build: { context: '.', dockerfile: 'web.Dockerfile', args: ['MODE=prod'], cache_from: ['x/web:cache'] } },
    api: {
      image: 'registry.example.test/custom/api:edge',
      build: './api',
      deploy: {
        labels: { 'traefik.http.routers.api.rule': "Host('api.example.test')" },
        update_config: { order: 'stop-first' },
      },
    },
    db: {
      image: 'postgres:16',
      labels: { role: 'db' },
      environment: { PRICE: '$5', COST: '$$' },
      ports: [{ target: 5432, published: 5432, mode: 'host' }],
    },
  },
});

describe('planBuilds', () => {
  it('builds each distinct definition once and names images for services without image:', () => {
    const targets = planBuilds(compose(), 'shop', '127.0.0.1:5000', 'abc123');
    expect(targets).toEqual([
      {
        images: [
          { service: 'web', repository: '127.0.0.1:5000/shop-web', tag: 'latest', commitTag: 'abc123' },
          { service: 'worker', repository: '127.0.0.1:5000/shop-worker', tag: 'latest', commitTag: 'abc123' },
        ],
        context: '.',
        dockerfile: 'web.Dockerfile',
        args: { MODE: 'prod' },
        labels: {},
        cacheFrom: ['x/web:cache'],
        secrets: {},
      },
      {
        images: [{ service: 'api', repository: 'registry.example.test/custom/api', tag: 'edge', commitTag: 'abc123' }],
        context: './api',
        dockerfile: 'Dockerfile',
        args: {},
        labels: {},
        cacheFrom: [],
        secrets: {},
      },
    ]);
  });

  it('maps build.secrets ids onto app config values, through a top-level secret that names one', () => {
    const file: ComposeFile = {
      secrets: { npm: { environment: 'NPM_TOKEN' } },
      services: {
        web: { build: { context: '.', secrets: ['npm', 'PLAIN', { source: 'SIGNING_KEY', target: 'key' }] } },
      },
    };
    const [target] = planBuilds(file, 'shop', '127.0.0.1:5000', 'abc123');
    if (!target) throw new Error('no build planned');
    expect(target.secrets).toEqual({ npm: 'NPM_TOKEN', PLAIN: 'PLAIN', key: 'SIGNING_KEY' });
    const values = { NPM_TOKEN: 'n-value', PLAIN: 'p-value', SIGNING_KEY: 'k-value', OTHER: 'o-value' };
    expect(buildSecretsFor(target, values)).toEqual({ ...values, npm: 'n-value', key: 'k-value' });
    expect(() => buildSecretsFor(target, { PLAIN: 'p' })).toThrow(
      'build.secrets gives the build secret npm from NPM_TOKEN, which is not an app config value',
    );
  });
});

describe('resolveCompose', () => {
  it('pins built images, drops build:, labels ownership and defaults to start-first updates that roll back', () => {
    const text = resolveCompose(compose(), {
      app: 'shop',
      images: {
        web: '127.0.0.1:5000/shop-web:abc123',
        worker: '127.0.0.1:5000/shop-web:abc123',
        api: 'registry.example.test/custom/api:abc123',
      },
    });
    const resolved = yaml.load(text) as ComposeFile;
    const web = resolved.services.web;
    expect(web?.image).toBe('127.0.0.1:5000/shop-web:abc123');
    expect(web?.build).toBeUndefined();
    expect(web?.deploy).toMatchObject({
      labels: { 'traefik.enable': 'true', 'swarmlet.managed': 'true', 'swarmlet.app': 'shop' },
      update_config: { order: 'start-first', failure_action: 'rollback', monitor: '10s' },
      rollback_config: { order: 'start-first' },
    });
    expect(resolved.services.api?.deploy?.update_config).toEqual({
      order: 'stop-first',
      failure_action: 'rollback',
      monitor: '10s',
    });
    expect(resolved.services.db).toMatchObject({
      image: 'postgres:16',
      labels: { role: 'db', 'swarmlet.managed': 'true', 'swarmlet.app': 'shop' },
    });
    expect(resolved.version).toBe('3.8');
    expect(resolved.services.db?.environment).toEqual({ PRICE: '$$5', COST: '$$$$' });
    expect(resolved.services.db?.deploy).toMatchObject({
      update_config: { order: 'stop-first' },
      rollback_config: { order: 'stop-first' },
    });
  });
});

describe('appUrls', () => {
  it('reads every host of the Traefik Host rules', () => {
    expect(appUrls(compose())).toEqual([
      'https://app.example.test',
      'https://www.example.test',
      'https://api.example.test',
    ]);
  });
});
