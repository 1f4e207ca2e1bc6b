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

describe('resolveCompose with config and scale', () => {
  const images = { web: 'r/shop-web:c1', worker: 'r/shop-web:c1', api: 'r/api:c1' };
  const config = { SECRET_TOKEN: 'sekr$et "x"\nzz9', MODE: 'from-config', A: 'z' };
  const services = (text: string) => (yaml.load(text) as ComposeFile).services;

  it('adds the config to built services only, keeps what a service sets itself, and applies scale', () => {
    const base = compose();
    base.services.worker = { ...base.services.worker, environment: ['MODE=own', 'PASSED'] };
    const resolved = services(resolveCompose(base, { app: 'shop', images, config, scale: { web: 3 } }));
    expect(resolved.web?.environment).toEqual({
      SECRET_TOKEN: 'sekr$$et "x"\nzz9',
      MODE: 'from-config',
      A: 'z',
    });
    expect(resolved.worker?.environment).toEqual({
      SECRET_TOKEN: 'sekr$$et "x"\nzz9',
      A: 'z',
      MODE: 'own',
      PASSED: null,
    });
    expect(resolved.db?.environment).toEqual({ PRICE: '$$5', COST: '$$$$' });
    expect(resolved.web?.deploy?.replicas).toBe(3);
    expect(resolved.worker?.deploy?.replicas).toBeUndefined();
  });

  it('masks every config value in the copy that is kept, also where the compose file interpolated one', () => {
    const base = compose();
    base.services.db = { ...base.services.db, command: ['serve', `--token=${config.SECRET_TOKEN}`] };
    const text = resolveCompose(base, { app: 'shop', images, config, maskConfig: true });
    expect(text).not.toContain('sekr');
    expect(text).not.toContain('from-config');
    expect(services(text).web?.environment).toEqual({ SECRET_TOKEN: '********', MODE: '********', A: '********' });
    expect(services(text).db?.command).toEqual(['serve', '--token=********']);
  });
});

describe('resolveCompose with build-only secrets', () => {
  it('leaves out top-level secrets given by environment, keeping file secrets', () => {
    const base = compose();
    const withSecrets: ComposeFile = {
      ...base,
      secrets: { npm: { environment: 'NPM_TOKEN' }, cert: { file: './cert.pem' } },
    };
    expect((yaml.load(resolveCompose(withSecrets, { app: 'shop', images: {} })) as ComposeFile).secrets).toEqual({
      cert: { file: './cert.pem' },
    });
    const onlyBuild: ComposeFile = { ...base, secrets: { npm: { environment: 'NPM_TOKEN' } } };
    expect(yaml.load(resolveCompose(onlyBuild, { app: 'shop', images: {} }))).not.toHaveProperty('secrets');
  });
});
