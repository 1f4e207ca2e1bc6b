import { ComposeError } from './compose-error.js';
import { checkShape } from './shape.js';

const check = (services: unknown, env: Record<string, string> = {}) => checkShape({ services }, env, 'compose.yaml');

function message(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof ComposeError) {
      expect(error.file).toBe('compose.yaml');
      return error.message;
    }
    throw error;
  }
  throw new Error('expected a ComposeError');
}

describe('checkShape', () => {
  it('keeps what it does not check, top level and services alike, and does not change its input', () => {
    const input = {
      version: '3.8',
      networks: { web: { external: true } },
      'x-extension': [1],
      services: { web: { image: 'busybox', command: ['httpd'], environment: { A: 1 } } },
    };
    const before = structuredClone(input);
    expect(checkShape(input, {}, 'compose.yaml')).toEqual(before);
    expect(input).toEqual(before);
  });

  it('turns a build path into a build map', () => {
    expect(check({ web: { build: './web' } }).services.web?.build).toEqual({ context: './web' });
  });

  it('normalizes a build map: args and labels to maps of text, an argument without value from the environment', () => {
    const build = {
      context: 'web',
      dockerfile: 'docker/Dockerfile.prod',
      target: 'runtime',
      args: ['VERSION=1.2', 'FROM_ENV', 'MISSING', 'EMPTY=', 'WITH_EQUALS=a=b'],
      labels: { 'org.example.team': 'shop', 'org.example.count': 3, flag: true, none: null },
      cache_from: ['127.0.0.1:5000/shop-web:latest'],
      'x-note': 'ignored extension',
    };
    expect(check({ web: { build } }, { FROM_ENV: 'env value' }).services.web?.build).toEqual({
      context: 'web',
      dockerfile: 'docker/Dockerfile.prod',
      target: 'runtime',
      args: { VERSION: '1.2', FROM_ENV: 'env value', EMPTY: '', WITH_EQUALS: 'a=b' },
      labels: { 'org.example.team': 'shop', 'org.example.count': '3', flag: 'true', none: '' },
      cache_from: ['127.0.0.1:5000/shop-web:latest'],
    });
    expect(
      check({ web: { build: { args: { NUMBER: 3, FROM_ENV: null, MISSING: null } } } }, { FROM_ENV: 'e' }).services.web
        ?.build,
    ).toEqual({ args: { NUMBER: '3', FROM_ENV: 'e' } });
  });

  it('normalizes service and deploy labels, list form included, to maps of text', () => {
    const web = check({
      web: { image: 'x', labels: ['a=1', 'b'], deploy: { replicas: 2, labels: { 'traefik.enable': true } } },
    }).services.web;
    expect(web?.labels).toEqual({ a: '1', b: '' });
    expect(web?.deploy).toEqual({ replicas: 2, labels: { 'traefik.enable': 'true' } });
  });

  it.each([
    [{ 'bad name!': { image: 'x' } }, 'services.bad name! has an invalid name: use letters, digits, "_", "." and "-"'],
    [{ web: { image: '' } }, 'services.web.image must be an image name'],
    [{ web: { image: 5 } }, 'services.web.image must be an image name'],
    [{ web: { command: 'x' } }, 'services.web needs an image or a build'],
    [{ web: { build: ['.'] } }, 'services.web.build must be a path or a map'],
    [{ web: { build: '' } }, 'services.web.build must be a path'],
    [{ web: { build: '/etc' } }, 'services.web.build must be a path inside the repository, not "/etc"'],
    [
      { web: { build: 'https://github.com/example/app.git' } },
      'services.web.build must be a path inside the repository, not "https://github.com/example/app.git"',
    ],
    [{ web: { build: { context: 'git@github.com:a/b.git' } } }, 'services.web.build.context must be a path inside'],
    [{ web: { build: { dockerfile: '/Dockerfile' } } }, 'services.web.build.dockerfile must be a path inside'],
    [{ web: { build: { target: 3 } } }, 'services.web.build.target must be the name of a build stage'],
    [{ web: { build: { args: 'A=1' } } }, 'services.web.build.args must be a map or a list of NAME=value'],
    [{ web: { build: { args: ['A=1', 2] } } }, 'services.web.build.args[1] must be NAME=value or NAME'],
    [{ web: { build: { args: { A: [1] } } } }, 'services.web.build.args.A must be text, a number or a boolean'],
    [{ web: { build: { labels: 'a=b' } } }, 'services.web.build.labels must be a map or a list of KEY=value'],
    [{ web: { build: { cache_from: 'img' } } }, 'services.web.build.cache_from must be a list of image names'],
    [
      { web: { build: { dockerfile_inline: 'FROM busybox' } } },
      'services.web.build.dockerfile_inline is not supported: a build may set context, dockerfile, args, target, labels, cache_from',
    ],
    [{ web: { image: 'x', labels: [{}] } }, 'services.web.labels[0] must be KEY=value'],
    [{ web: { image: 'x', ports: '80:80' } }, 'services.web.ports must be a list'],
    [{ web: { image: 'x', deploy: 'global' } }, 'services.web.deploy must be a map'],
    [{ web: { image: 'x', deploy: { update_config: [] } } }, 'services.web.deploy.update_config must be a map'],
    [{ web: { image: 'x', deploy: { labels: { a: { b: 1 } } } } }, 'services.web.deploy.labels.a must be text'],
  ])('refuses %j, naming the file and the path', (services, expected) => {
    expect(message(() => check(services))).toContain(`compose.yaml: ${expected}`);
  });

  it('refuses a file without services', () => {
    expect(message(() => checkShape({ services: {} }, {}, 'compose.yaml'))).toBe(
      'compose.yaml: services must map service names to their definitions',
    );
    expect(message(() => checkShape('text', {}, 'compose.yaml'))).toBe(
      'compose.yaml: the top level must be a map (services:, networks:, …)',
    );
  });
});

describe('checkShape build secrets', () => {
  it('takes names and {source, target} maps, and names a malformed entry', () => {
    expect(
      check({ web: { build: { context: '.', secrets: ['NPM_TOKEN', { source: 'npm', target: 'npmrc' }] } } }),
    ).toMatchObject({ services: { web: { build: { secrets: ['NPM_TOKEN', { source: 'npm', target: 'npmrc' }] } } } });
    expect(message(() => check({ web: { build: { secrets: 'NPM_TOKEN' } } }))).toContain('services.web.build.secrets');
    expect(message(() => check({ web: { build: { secrets: [{ target: 'x' }] } } }))).toContain(
      'services.web.build.secrets[0]',
    );
  });
});
