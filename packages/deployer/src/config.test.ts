import { ConfigError } from '@swarmlet/common';
import { loadAgentConfig } from './config.js';

describe('loadAgentConfig', () => {
  it('has defaults for everything but the secrets', () => {
    expect(loadAgentConfig({})).toMatchObject({
      listen: { host: '127.0.0.1', port: 8787 },
      tokenFile: undefined,
      dockerSocket: '/var/run/docker.sock',
      logLevel: 'info',
      dataDir: '/var/lib/swarmlet',
      registry: '127.0.0.1:5000',
      registryPasswordFile: undefined,
      rootDomain: 'localhost',
      email: 'admin@localhost',
      traefikNetwork: 'traefik-public',
      version: 'latest',
      publishMode: 'ingress',
      convergeTimeoutMs: 300_000,
      entrypointTimeoutMs: 120_000,
      concurrency: 2,
      entrypointUidBase: 2_100_000_000,
    });
  });

  it('reads the environment, resolving the data directory', () => {
    expect(
      loadAgentConfig(
        {
          SWARMLET_AGENT_ADDR: ':9000',
          SWARMLET_LOG_LEVEL: 'debug',
          SWARMLET_DATA_DIR: 'data',
          SWARMLET_CONVERGE_TIMEOUT_SECONDS: '30',
          SWARMLET_VERSION: '0.2.0',
          SWARMLET_PUBLISH_MODE: 'host',
        },
        '/srv',
      ),
    ).toMatchObject({
      listen: { host: undefined, port: 9000 },
      logLevel: 'debug',
      dataDir: '/srv/data',
      convergeTimeoutMs: 30_000,
      version: '0.2.0',
      publishMode: 'host',
    });
  });

  it('names an invalid variable', () => {
    expect(() => loadAgentConfig({ SWARMLET_AGENT_ADDR: 'everywhere' })).toThrow(ConfigError);
    expect(() => loadAgentConfig({ SWARMLET_AGENT_ADDR: 'everywhere' })).toThrow(/SWARMLET_AGENT_ADDR/);
    expect(() => loadAgentConfig({ SWARMLET_LOG_LEVEL: 'loud' })).toThrow(/SWARMLET_LOG_LEVEL/);
    expect(() => loadAgentConfig({ SWARMLET_REGISTRY: 'http://x/' })).toThrow(/SWARMLET_REGISTRY/);
    expect(() => loadAgentConfig({ SWARMLET_DEPLOY_CONCURRENCY: '0' })).toThrow(/SWARMLET_DEPLOY_CONCURRENCY/);
    expect(() => loadAgentConfig({ SWARMLET_PUBLISH_MODE: 'vip' })).toThrow(/SWARMLET_PUBLISH_MODE/);
    expect(() => loadAgentConfig({ SWARMLET_VERSION: '../x' })).toThrow(/SWARMLET_VERSION/);
    expect(() => loadAgentConfig({ SWARMLET_ENTRYPOINT_UID_BASE: '0' })).toThrow(/SWARMLET_ENTRYPOINT_UID_BASE/);
    expect(() => loadAgentConfig({ SWARMLET_ENTRYPOINT_UID_BASE: '2147483000' })).toThrow(
      /SWARMLET_ENTRYPOINT_UID_BASE/,
    );
  });

  it('reads the platform time limits as durations, with defaults, and names a bad one', () => {
    expect(loadAgentConfig({}).limits).toEqual({
      buildMs: 30 * 60_000,
      pushMs: 10 * 60_000,
      stackDeployMs: 5 * 60_000,
      engineCallMs: 2 * 60_000,
    });
    expect(
      loadAgentConfig({ SWARMLET_BUILD_TIMEOUT: '1h30m', SWARMLET_DEPLOY_TIMEOUT: '2h', SWARMLET_ENGINE_TIMEOUT: '45' })
        .limits,
    ).toMatchObject({ buildMs: 90 * 60_000, deployMs: 2 * 3_600_000, engineCallMs: 45_000 });
    expect(() => loadAgentConfig({ SWARMLET_PUSH_TIMEOUT: 'forever' })).toThrow(/SWARMLET_PUSH_TIMEOUT/);
  });

  it('reads how many deploys of each app the history keeps, 20 by default', () => {
    expect(loadAgentConfig({}).historyLimit).toBe(20);
    expect(loadAgentConfig({ SWARMLET_HISTORY_LIMIT: '2' }).historyLimit).toBe(2);
    expect(() => loadAgentConfig({ SWARMLET_HISTORY_LIMIT: '0' })).toThrow(/SWARMLET_HISTORY_LIMIT/);
    expect(() => loadAgentConfig({ SWARMLET_HISTORY_LIMIT: 'all' })).toThrow(/SWARMLET_HISTORY_LIMIT/);
  });

  it("tells the core stacks the install's socket, dashboard address and router, when it gave them", () => {
    expect(loadAgentConfig({}).coreVariables).toEqual({ SWARMLET_ROUTER: 'traefik' });
    expect(
      loadAgentConfig({
        SWARMLET_HOST_DOCKER_SOCKET: '/run/user/0/docker.sock',
        SWARMLET_DASHBOARD_ADDR: '172.19.0.1:8788',
        SWARMLET_ROUTER: 'none',
      }).coreVariables,
    ).toEqual({ DOCKER_SOCKET: '/run/user/0/docker.sock', DASHBOARD_ADDR: '172.19.0.1:8788', SWARMLET_ROUTER: 'none' });
    expect(() => loadAgentConfig({ SWARMLET_HOST_DOCKER_SOCKET: 'docker.sock' })).toThrow(
      /SWARMLET_HOST_DOCKER_SOCKET/,
    );
  });

  it('reads the builder and the build cache limit, 10 GiB by default', () => {
    expect(loadAgentConfig({})).toMatchObject({ builder: 'auto', buildCacheLimitBytes: 10 * 2 ** 30 });
    expect(loadAgentConfig({ SWARMLET_BUILDER: 'classic', SWARMLET_BUILD_CACHE_LIMIT: '512 MiB' })).toMatchObject({
      builder: 'classic',
      buildCacheLimitBytes: 512 * 2 ** 20,
    });
    expect(loadAgentConfig({ SWARMLET_BUILD_CACHE_LIMIT: '1.5GiB' }).buildCacheLimitBytes).toBe(1.5 * 2 ** 30);
    expect(loadAgentConfig({ SWARMLET_BUILD_CACHE_LIMIT: '0' }).buildCacheLimitBytes).toBe(0);
    expect(() => loadAgentConfig({ SWARMLET_BUILD_CACHE_LIMIT: 'lots' })).toThrow(/SWARMLET_BUILD_CACHE_LIMIT/);
    expect(() => loadAgentConfig({ SWARMLET_BUILDER: 'kaniko' })).toThrow(/SWARMLET_BUILDER/);
  });
});
