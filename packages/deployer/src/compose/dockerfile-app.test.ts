import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ComposeError } from './compose-error.js';
import {
  dockerfileApp,
  dockerfileExposedPorts,
  lowestExposedPort,
  missingPortMessage,
  withRoutePort,
  type DockerfileAppOptions,
} from './dockerfile-app.js';

describe('dockerfileExposedPorts', () => {
  it('reads the last stage’s EXPOSE lines in order, with continuations, protocols and ranges', () => {
    const text = [
      'FROM node:20 AS build',
      'EXPOSE 9229',
      '# EXPOSE 1',
      'FROM busybox',
      'expose 8080/tcp \\',
      '  # a comment inside a continuation',
      '  3000-3005 $PORT 70000',
      'EXPOSE 53/udp',
    ].join('\n');
    expect(dockerfileExposedPorts(text)).toEqual([8080, 3000, 53]);
  });

  it('inherits the ports of the earlier stage the last one starts from', () => {
    expect(dockerfileExposedPorts('FROM busybox AS base\nEXPOSE 5000\nFROM base\nEXPOSE 6000\n')).toEqual([5000, 6000]);
    expect(dockerfileExposedPorts('FROM busybox\nCMD ["true"]\n')).toEqual([]);
  });
});

describe('lowestExposedPort', () => {
  it('takes the lowest TCP port of an image’s ExposedPorts', () => {
    expect(lowestExposedPort({ '8080/tcp': {}, '80/tcp': {}, '53/udp': {} })).toBe(80);
    expect(lowestExposedPort({})).toBeUndefined();
    expect(lowestExposedPort(undefined)).toBeUndefined();
  });
});

describe('dockerfileApp', () => {
  let tree = '';
  const options = (env: Record<string, string>, sources: Record<string, string> = {}): DockerfileAppOptions => ({
    app: 'shop_v2',
    environment: {
      env: { PATH: '/bin', ROOT_DOMAIN: 'example.com', SWARMLET_REGISTRY: '127.0.0.1:5000', ...env },
      sources: {
        PATH: 'platform',
        ROOT_DOMAIN: 'platform',
        SWARMLET_REGISTRY: 'platform',
        TRAEFIK_NETWORK: 'platform',
        ...sources,
      },
    },
    rootDomain: 'example.com',
    registry: '127.0.0.1:5000',
    traefikNetwork: 'traefik-public',
    router: { kind: 'traefik' },
  });

  beforeEach(() => {
    tree = mkdtempSync(join(tmpdir(), 'swarmlet-dockerfile-app-'));
  });
  afterEach(() => {
    rmSync(tree, { recursive: true, force: true });
  });

  it('makes one routed web service from the Dockerfile, with the deploy environment but PATH and config', async () => {
    writeFileSync(join(tree, 'Dockerfile'), 'FROM busybox\nEXPOSE 8080 9090\n');
    const made = await dockerfileApp(
      tree,
      options(
        { TRAEFIK_NETWORK: 'traefik-public', GREETING: 'hi $there', SECRET: 's3cret' },
        { GREETING: '.env', SECRET: 'config' },
      ),
    );
    expect(made.port).toBe(8080);
    expect(made.portSource).toBe('EXPOSE in Dockerfile');
    const web = made.compose.services.web;
    expect(web).toMatchObject({
      build: { context: '.', dockerfile: 'Dockerfile' },
      image: '127.0.0.1:5000/shop_v2',
      environment: { GREETING: 'hi $there', ROOT_DOMAIN: 'example.com' },
      networks: ['router'],
      deploy: { replicas: 1 },
    });
    expect(web?.environment).not.toHaveProperty('PATH');
    expect(web?.environment).not.toHaveProperty('SECRET');
    expect(web?.deploy?.labels).toMatchObject({
      'traefik.http.routers.shop-v2.rule': 'Host(`shop-v2.example.com`)',
      'traefik.http.routers.shop-v2.tls.certresolver': 'letsencrypt',
      'traefik.swarm.network': 'traefik-public',
    });
    expect(made.compose.networks).toEqual({ router: { external: true, name: 'traefik-public' } });
    expect(made.template.services.web).toMatchObject({
      image: '${SWARMLET_REGISTRY}/shop_v2',
      environment: { GREETING: '${GREETING}' },
    });
    const routed = withRoutePort(made.compose, 'shop_v2', 8080);
    expect(routed.services.web?.deploy?.labels).toMatchObject({
      'traefik.http.services.shop-v2.loadbalancer.server.port': '8080',
    });
    expect(made.compose.services.web?.deploy?.labels).not.toHaveProperty(
      'traefik.http.services.shop-v2.loadbalancer.server.port',
    );
  });

  it('prefers PORT from the environment to EXPOSE, and refuses a PORT that is not a port', async () => {
    writeFileSync(join(tree, 'Dockerfile'), 'FROM busybox\nEXPOSE 8080\n');
    const made = await dockerfileApp(tree, options({ PORT: '5000' }, { PORT: 'config' }));
    expect(made).toMatchObject({ port: 5000, portSource: 'PORT from config' });
    await expect(dockerfileApp(tree, options({ PORT: 'http' }))).rejects.toThrow('PORT=http is not a port number');
  });

  it('leaves the port to the built image when neither PORT nor the Dockerfile gives one', async () => {
    writeFileSync(join(tree, 'Dockerfile'), 'FROM nginx\n');
    expect((await dockerfileApp(tree, options({}))).port).toBeUndefined();
    expect(missingPortMessage('shop')).toMatch(/EXPOSE <port>.*config set shop PORT=<port>/);
  });

  it('names both ways to deploy when there is no Dockerfile, and refuses one that is not a file or leaves the tree', async () => {
    await expect(dockerfileApp(tree, options({}))).rejects.toThrow(
      /no compose file \(compose\.yaml, .*\) and no Dockerfile; add a Dockerfile .* or a compose file/,
    );
    mkdirSync(join(tree, 'Dockerfile'));
    await expect(dockerfileApp(tree, options({}))).rejects.toThrow(new ComposeError('Dockerfile is not a file'));
    rmSync(join(tree, 'Dockerfile'), { recursive: true });
    symlinkSync('/etc/hostname', join(tree, 'Dockerfile'));
    await expect(dockerfileApp(tree, options({}))).rejects.toThrow('Dockerfile leads outside the repository');
  });
});
