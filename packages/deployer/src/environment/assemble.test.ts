import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutsideTreeError } from '../tree-path.js';
import {
  assembleEnvironment,
  DEFAULT_PATH,
  DEFAULT_REGISTRY,
  platformEnvironment,
  type PlatformVariables,
} from './assemble.js';
import { DotenvError } from './dotenv.js';
import { EntrypointError } from './entrypoint.js';

const PLATFORM: PlatformVariables = {
  rootDomain: 'example.test',
  username: 'admin',
  traefikNetwork: 'traefik-public',
  app: 'shop',
  commit: '0123456789abcdef0123456789abcdef01234567',
  branch: 'master',
};

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'swarmlet-assemble-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const options = { timeoutMs: 20_000, onLine: () => undefined };

describe('platformEnvironment', () => {
  it('names the platform variables, with the registry and PATH defaults', () => {
    expect(platformEnvironment(PLATFORM)).toEqual({
      SWARMLET_REGISTRY: DEFAULT_REGISTRY,
      ROOT_DOMAIN: 'example.test',
      SWARMLET_USERNAME: 'admin',
      SWARMLET_EMAIL: 'admin@example.test',
      TRAEFIK_NETWORK: 'traefik-public',
      SWARMLET_VERSION: 'latest',
      SWARMLET_PUBLISH_MODE: 'ingress',
      APP_NAME: 'shop',
      GIT_SHA: PLATFORM.commit,
      GIT_BRANCH: 'master',
      PATH: DEFAULT_PATH,
    });
    expect(DEFAULT_REGISTRY).toBe('127.0.0.1:5000');
    expect(
      platformEnvironment({
        ...PLATFORM,
        registry: 'registry.example.test',
        path: '/bin',
        version: '0.2.0',
        publishMode: 'host',
      }),
    ).toMatchObject({
      SWARMLET_REGISTRY: 'registry.example.test',
      PATH: '/bin',
      SWARMLET_VERSION: '0.2.0',
      SWARMLET_PUBLISH_MODE: 'host',
    });
  });

  it('adds the extra variables, which cannot replace the named ones', () => {
    const env = platformEnvironment({ ...PLATFORM, extra: { DOCKER_SOCKET: '/run/docker.sock', APP_NAME: 'other' } });
    expect(env).toMatchObject({ DOCKER_SOCKET: '/run/docker.sock', APP_NAME: 'shop' });
  });
});

describe('assembleEnvironment', () => {
  it('is the platform variables alone when the project has neither .env nor entrypoint', async () => {
    const { env, sources } = await assembleEnvironment(tree({}), PLATFORM, options);
    expect(env).toEqual(platformEnvironment(PLATFORM));
    expect(new Set(Object.values(sources))).toEqual(new Set(['platform']));
  });

  it('layers platform, .env and entrypoint, later winning, and says where each value came from', async () => {
    process.env.SWARMLET_TEST_SECRET = 'agent secret';
    try {
      const dir = tree({
        '.env': 'DOMAIN=${APP_NAME}.${ROOT_DOMAIN}\nAPP_NAME=renamed\nGREETING=hello\nKEPT=from env file\n',
        entrypoint: [
          'echo "building for $DOMAIN"',
          'export GREETING="$GREETING from the entrypoint"',
          'export URL="https://$DOMAIN"',
          'export KEPT="$KEPT"',
          'export LEAK="${SWARMLET_TEST_SECRET:-none}"',
          '',
        ].join('\n'),
      });
      const lines: string[] = [];
      const { env, sources } = await assembleEnvironment(dir, PLATFORM, {
        timeoutMs: 20_000,
        onLine: (line) => lines.push(line),
      });
      expect(env).toEqual({
        ...platformEnvironment(PLATFORM),
        APP_NAME: 'renamed',
        DOMAIN: 'shop.example.test',
        GREETING: 'hello from the entrypoint',
        KEPT: 'from env file',
        URL: 'https://shop.example.test',
        LEAK: 'none',
      });
      expect(sources).toEqual({
        SWARMLET_REGISTRY: 'platform',
        ROOT_DOMAIN: 'platform',
        SWARMLET_USERNAME: 'platform',
        SWARMLET_EMAIL: 'platform',
        SWARMLET_VERSION: 'platform',
        SWARMLET_PUBLISH_MODE: 'platform',
        TRAEFIK_NETWORK: 'platform',
        APP_NAME: '.env',
        GIT_SHA: 'platform',
        GIT_BRANCH: 'platform',
        PATH: 'platform',
        DOMAIN: '.env',
        GREETING: 'entrypoint',
        KEPT: '.env',
        URL: 'entrypoint',
        LEAK: 'entrypoint',
      });
      expect(lines).toEqual(['building for shop.example.test']);
    } finally {
      delete process.env.SWARMLET_TEST_SECRET;
    }
  });

  it('lets the entrypoint see PATH from the platform and unset a variable', async () => {
    const dir = tree({ '.env': 'TEMPORARY=1\n', entrypoint: 'unset TEMPORARY\nexport WHERE="$(command -v env)"\n' });
    const { env, sources } = await assembleEnvironment(dir, { ...PLATFORM, path: '/usr/bin:/bin' }, options);
    expect(env.WHERE).toMatch(/^\/(usr\/)?bin\/env$/);
    expect(env).not.toHaveProperty('TEMPORARY');
    expect(sources).not.toHaveProperty('TEMPORARY');
  });

  it('stops at a malformed .env before running the entrypoint', async () => {
    const dir = tree({ '.env': 'GOOD=1\nnot an entry\n', entrypoint: 'touch ran\n' });
    await expect(assembleEnvironment(dir, PLATFORM, options)).rejects.toThrow(
      new DotenvError('.env', 2, 'expected NAME=value'),
    );
  });

  it('passes on an entrypoint failure with its message', async () => {
    const dir = tree({ entrypoint: 'echo "no database configured" >&2\nexit 2\n' });
    const failing = assembleEnvironment(dir, PLATFORM, options);
    await expect(failing).rejects.toThrow(EntrypointError);
    await expect(failing).rejects.toThrow('entrypoint failed with exit code 2; its last lines: no database configured');
  });

  it('refuses a .env that leads outside the tree or is not a file', async () => {
    const outside = tree({ 'secrets.env': 'TOKEN=agent-only\n' });
    const linked = tree({});
    symlinkSync(join(outside, 'secrets.env'), join(linked, '.env'));
    await expect(assembleEnvironment(linked, PLATFORM, options)).rejects.toThrow(OutsideTreeError);
    await expect(assembleEnvironment(linked, PLATFORM, options)).rejects.toThrow('".env" leads outside the repository');
    const directory = tree({});
    mkdirSync(join(directory, '.env'));
    await expect(assembleEnvironment(directory, PLATFORM, options)).rejects.toThrow('.env is not a file');
  });
});

describe('assembleEnvironment with app config', () => {
  it('puts config after .env and before the entrypoint, which sees it', async () => {
    const dir = tree({
      '.env': 'GREETING=from-dotenv\nKEPT=dotenv\n',
      entrypoint: 'export SEEN_BY_ENTRYPOINT="$GREETING"\n',
    });
    const config = { GREETING: 'from config: $x "q" = \n line two', EXTRA: 'ü' };
    const { env, sources } = await assembleEnvironment(dir, PLATFORM, options, config);
    expect(env).toMatchObject({ ...config, KEPT: 'dotenv', SEEN_BY_ENTRYPOINT: config.GREETING });
    expect(sources).toMatchObject({
      GREETING: 'config',
      EXTRA: 'config',
      KEPT: '.env',
      SEEN_BY_ENTRYPOINT: 'entrypoint',
    });
  });
});
