import { reachability, routeLabels, routerName } from './routing.js';

describe('routeLabels', () => {
  const route = { name: 'shop', hosts: ['shop.example.com', 'www.example.com'], port: 3000, network: 'traefik-public' };

  it('routes HTTPS with the Let’s Encrypt resolver for the production router', () => {
    expect(routeLabels(route, { kind: 'traefik' })).toEqual({
      'traefik.enable': 'true',
      'traefik.swarm.network': 'traefik-public',
      'traefik.http.routers.shop.rule': 'Host(`shop.example.com`) || Host(`www.example.com`)',
      'traefik.http.routers.shop.entrypoints': 'websecure',
      'traefik.http.routers.shop.tls.certresolver': 'letsencrypt',
      'traefik.http.routers.shop.service': 'shop',
      'traefik.http.services.shop.loadbalancer.server.port': '3000',
    });
  });

  it('routes plain HTTP on the local router, and leaves the port out while it is unknown', () => {
    const labels = routeLabels({ ...route, port: undefined }, { kind: 'local', httpPort: 8080 });
    expect(labels['traefik.http.routers.shop.entrypoints']).toBe('web');
    expect(Object.keys(labels).some((key) => key.includes('tls'))).toBe(false);
    expect(Object.keys(labels).some((key) => key.includes('loadbalancer'))).toBe(false);
  });

  it('makes router names of app names with dots and underscores', () => {
    expect(routerName('my.app_v2')).toBe('my-app-v2');
  });
});

describe('reachability', () => {
  const compose = {
    services: {
      web: {
        ports: ['30080:8080', { target: 9000, published: 30090, mode: 'host' }, '7000'],
        deploy: { labels: { 'traefik.http.routers.web.rule': 'Host(`shop.localhost`)' } },
      },
      worker: {},
    },
  };

  it('reports HTTPS URLs under the production router', () => {
    expect(reachability(compose, { kind: 'traefik' })).toEqual({ urls: ['https://shop.localhost'], notes: [] });
  });

  it('reports HTTP URLs on the local router’s port', () => {
    expect(reachability(compose, { kind: 'local', httpPort: 8080 }).urls).toEqual(['http://shop.localhost:8080']);
    expect(reachability(compose, { kind: 'local', httpPort: 80 }).urls).toEqual(['http://shop.localhost']);
  });

  it('reports published ports instead of URLs when no router runs', () => {
    expect(reachability(compose, { kind: 'none' })).toEqual({
      urls: [],
      notes: [
        'no router runs here, so https://shop.localhost cannot answer; published ports:',
        'web: http://127.0.0.1:30080 (port 8080)',
        'web: http://127.0.0.1:30090 (port 9000)',
      ],
    });
    expect(reachability({ services: { web: {} } }, { kind: 'none' }).notes).toEqual(['no service publishes a port']);
  });
});
