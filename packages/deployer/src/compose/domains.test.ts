import { ComposeError } from './compose-error.js';
import {
  domainPort,
  domainRouterName,
  domainService,
  HostNameError,
  validateHostName,
  withDomains,
} from './domains.js';
import type { ComposeFile } from './resolve.js';

const compose = (): ComposeFile => ({
  services: {
    web: { image: 'x', ports: ['8000:8080'] },
    api: {
      image: 'y',
      deploy: {
        labels: {
          'traefik.enable': 'true',
          'traefik.http.routers.api.rule': 'Host(`api.test`)',
          'traefik.http.services.api.loadbalancer.server.port': '3000',
        },
      },
    },
    worker: { image: 'z', expose: ['9000/tcp'] },
    db: { image: 'w' },
  },
});

describe('validateHostName', () => {
  it('takes full host names in lower case, without a trailing dot', () => {
    expect(validateHostName('WWW.Shop-1.example.com.')).toBe('www.shop-1.example.com');
    expect(validateHostName('a.localhost')).toBe('a.localhost');
  });

  it('refuses malformed names with one line saying why', () => {
    for (const bad of [
      '',
      'shop',
      '-a.test',
      'a-.test',
      'a..test',
      'a_b.test',
      '*.test',
      'a.test/x',
      '10.0.0.1',
      `${'a'.repeat(64)}.test`,
      'a b.test',
    ]) {
      expect(() => validateHostName(bad)).toThrow(HostNameError);
    }
    expect(() => validateHostName('bad_host!.test')).toThrow(/^invalid host name "bad_host!.test": each part holds/);
  });
});

describe('domainService and domainPort', () => {
  it('chooses the given service, else the only routed one, else web, else the only service', () => {
    expect(domainService(compose(), 'worker')).toBe('worker');
    expect(domainService(compose(), undefined)).toBe('api');
    expect(domainService({ services: { web: {}, other: {} } }, undefined)).toBe('web');
    expect(domainService({ services: { one: {} } }, undefined)).toBe('one');
    expect(() => domainService({ services: { a: {}, b: {} } }, undefined)).toThrow(
      'give --service: the app has several services (a, b)',
    );
    expect(() => domainService(compose(), 'nope')).toThrow(
      'the app has no service "nope" (its services: web, api, worker, db)',
    );
  });

  it('takes --port, else the Traefik port label, else the single target or exposed port', () => {
    const services = compose().services;
    expect(domainPort('web', services.web ?? {}, 81)).toBe(81);
    expect(domainPort('api', services.api ?? {}, undefined)).toBe(3000);
    expect(domainPort('web', services.web ?? {}, undefined)).toBe(8080);
    expect(domainPort('worker', services.worker ?? {}, undefined)).toBe(9000);
    expect(() => domainPort('db', services.db ?? {}, undefined)).toThrow(
      'the port db listens on is not known from its compose definition: give --port',
    );
    expect(() => domainPort('two', { ports: [{ target: 1 }, '2'] }, undefined)).toThrow(
      'two listens on 1, 2: give --port',
    );
  });
});

describe('withDomains', () => {
  it("adds a router per host on the service's deploy labels, as the router stack expects", () => {
    const routed = withDomains(
      compose(),
      [{ host: 'shop.test' }, { host: 'w.test', service: 'web', port: 8081 }],
      'traefik-public',
      { kind: 'traefik' },
    );
    const api = domainRouterName('shop.test');
    const web = domainRouterName('w.test');
    expect(api).toMatch(/^swarmlet-domain-shop-test-[0-9a-f]{8}$/);
    expect(api).not.toBe(domainRouterName('shop-test'));
    expect(routed.services.api?.deploy?.labels).toEqual({
      'traefik.enable': 'true',
      'traefik.http.routers.api.rule': 'Host(`api.test`)',
      'traefik.http.services.api.loadbalancer.server.port': '3000',
      'traefik.swarm.network': 'traefik-public',
      [`traefik.http.routers.${api}.rule`]: 'Host(`shop.test`)',
      [`traefik.http.routers.${api}.entrypoints`]: 'websecure',
      [`traefik.http.routers.${api}.tls.certresolver`]: 'letsencrypt',
      [`traefik.http.routers.${api}.service`]: api,
      [`traefik.http.services.${api}.loadbalancer.server.port`]: '3000',
    });
    expect(routed.services.web?.deploy?.labels).toMatchObject({
      [`traefik.http.routers.${web}.rule`]: 'Host(`w.test`)',
      [`traefik.http.services.${web}.loadbalancer.server.port`]: '8081',
    });
    expect(compose().services.api?.deploy?.labels).not.toHaveProperty('traefik.swarm.network');
    expect(withDomains(compose(), [], 'n', { kind: 'traefik' })).toEqual(compose());
  });

  it("attaches the service to the router's network unless its labels name one, keeping the networks it had", () => {
    const routed = withDomains(
      {
        services: {
          web: { image: 'x', expose: ['80'] },
          api: { image: 'y', expose: ['81'], networks: ['back'] },
          admin: { image: 'z', expose: ['82'], networks: { back: { aliases: ['a'] } } },
          own: { image: 'v', expose: ['83'], deploy: { labels: { 'traefik.swarm.network': 'mine' } } },
        },
        networks: { back: {} },
      },
      ['web', 'api', 'admin', 'own'].map((service) => ({ host: `${service}.test`, service })),
      'traefik-public',
      { kind: 'traefik' },
    );
    expect(routed.networks).toEqual({ back: {}, 'swarmlet-router': { external: true, name: 'traefik-public' } });
    expect(routed.services.web?.networks).toEqual(['default', 'swarmlet-router']);
    expect(routed.services.api?.networks).toEqual(['back', 'swarmlet-router']);
    expect(routed.services.admin?.networks).toEqual({ back: { aliases: ['a'] }, 'swarmlet-router': {} });
    expect(routed.services.own?.networks).toBeUndefined();
    expect(routed.services.web?.deploy?.labels).toMatchObject({ 'traefik.swarm.network': 'traefik-public' });
    expect(routed.services.own?.deploy?.labels).toMatchObject({ 'traefik.swarm.network': 'mine' });
  });

  it('uses the network the compose file already declares for the router, by name or as an external key', () => {
    const byName = withDomains(
      {
        services: { web: { image: 'x', expose: ['80'], networks: ['edge'] } },
        networks: { edge: { external: true, name: 'traefik-public' } },
      },
      [{ host: 'w.test' }],
      'traefik-public',
      { kind: 'traefik' },
    );
    expect(byName.networks).toEqual({ edge: { external: true, name: 'traefik-public' } });
    expect(byName.services.web?.networks).toEqual(['edge']);
    const byKey = withDomains(
      {
        services: { web: { image: 'x', expose: ['80'] } },
        networks: { 'traefik-public': { external: true }, 'swarmlet-router': {} },
      },
      [{ host: 'w.test' }],
      'traefik-public',
      { kind: 'traefik' },
    );
    expect(byKey.services.web?.networks).toEqual(['default', 'traefik-public']);
    const clash = withDomains(
      { services: { web: { image: 'x', expose: ['80'] } }, networks: { 'swarmlet-router': {} } },
      [{ host: 'w.test' }],
      'traefik-public',
      { kind: 'traefik' },
    );
    expect(clash.networks).toMatchObject({ 'swarmlet-router-2': { external: true, name: 'traefik-public' } });
  });

  it('uses the plain web entry point of the local router that npm start runs', () => {
    const router = domainRouterName('shop.test');
    const labels = withDomains(compose(), [{ host: 'shop.test' }], 'n', { kind: 'local', httpPort: 8000 }).services.api
      ?.deploy?.labels;
    expect(labels).toMatchObject({ [`traefik.http.routers.${router}.entrypoints`]: 'web' });
    expect(labels).not.toHaveProperty(`traefik.http.routers.${router}.tls.certresolver`);
  });

  it('fails naming the host when its service or port cannot be found', () => {
    expect(() => withDomains(compose(), [{ host: 'db.test', service: 'db' }], 'n', { kind: 'traefik' })).toThrow(
      ComposeError,
    );
    expect(() => withDomains(compose(), [{ host: 'db.test', service: 'db' }], 'n', { kind: 'traefik' })).toThrow(
      'domain db.test: the port db listens on is not known from its compose definition: give --port',
    );
  });
});
