import { chmod, mkdir, readFile } from 'node:fs/promises';
import { createServer, type RequestListener } from 'node:http';
import { join } from 'node:path';
import {
  closeServer,
  createLogger,
  listen,
  listenWhenFree,
  loadHtpasswd,
  LoginThrottle,
  untilSignal,
  type Env,
} from '@swarmlet/common';
import { createAgentApp } from './agent.js';
import { AppOperations } from './app-operations.js';
import { loadAgentConfig, type AgentConfig } from './config.js';
import { Deployer } from './deployer.js';
import { NodeOperations } from './node-operations.js';
import { RegistryCatalog } from './registry-catalog.js';
import { SessionStore } from './dashboard/sessions.js';
import type { SessionAuth } from './dashboard/session-auth.js';
import { writeDockerConfig } from './docker/credentials.js';
import { connectEngine } from './docker/engine.js';
import { canConfineEntrypoints, EntrypointUsers } from './environment/entrypoint-users.js';
import type { RegistryAuth } from './docker/images.js';
import type { KeysDoor } from './key-routes.js';

/** What a caller may add to the agent beyond its settings. */
export interface AgentExtras {
  /** The SSH keys' door (the receiver's keys command), for the `/keys` routes; without it they are absent. */
  keys?: KeysDoor;
}

/**
 * Runs the deployer agent with the settings `loadAgentConfig` reads from `env` (paths resolved against `cwd`) until
 * SIGINT or SIGTERM, then closes its server; resolves with the exit code (0).
 * @throws ConfigError naming the setting that is invalid.
 */
export async function serveAgent(env: Env, cwd: string, extras: AgentExtras = {}): Promise<number> {
  const config = loadAgentConfig(env, cwd);
  const log = createLogger({ name: 'deployer', level: config.logLevel });
  const docker = connectEngine(config.dockerSocket);
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  await chmod(config.dataDir, 0o700);
  if (!canConfineEntrypoints()) {
    log.warn("the agent does not run as root: projects' entrypoints will run unconfined, as its own user");
  }
  const token = config.tokenFile ? (await readFile(config.tokenFile, 'utf8')).trim() : undefined;
  const registryAuth = await readRegistryAuth(config);
  const dockerConfig = await writeDockerConfig(join(config.dataDir, 'docker-config'), registryAuth);
  const deployer = new Deployer(
    docker,
    {
      workDir: join(config.dataDir, 'work'),
      historyDir: join(config.dataDir, 'deploys'),
      appSettingsDir: join(config.dataDir, 'apps'),
      registry: config.registry,
      ...(registryAuth && { registryAuth }),
      dockerConfig,
      rootDomain: config.rootDomain,
      username: config.username,
      email: config.email,
      traefikNetwork: config.traefikNetwork,
      version: config.version,
      publishMode: config.publishMode,
      path: config.path,
      convergeTimeoutMs: config.convergeTimeoutMs,
      builder: config.builder,
      buildCacheLimitBytes: config.buildCacheLimitBytes,
      router: config.router,
      entrypointTimeoutMs: config.entrypointTimeoutMs,
      entrypointUsers: new EntrypointUsers(join(config.dataDir, 'entrypoint-users.json'), config.entrypointUidBase),
      concurrency: config.concurrency,
      limits: config.limits,
      historyLimit: config.historyLimit,
      coreVariables: config.coreVariables,
    },
    log,
  );
  await deployer.recoverInterrupted((record) => {
    log.warn(
      { app: record.app, deploy: record.id, step: record.step, stackDeployed: record.stackDeployedAt !== undefined },
      `deploy interrupted: ${record.error ?? ''}`,
    );
  });
  const operations = new AppOperations(docker, deployer, {
    registry: config.registry,
    ...(registryAuth && { registryAuth }),
    ...(config.reposDir !== undefined && { reposDir: config.reposDir }),
    workDir: join(config.dataDir, 'work'),
    path: config.path,
    convergeTimeoutMs: config.convergeTimeoutMs,
    rootDomain: config.rootDomain,
  });
  if (!token) log.warn('SWARMLET_AGENT_TOKEN_FILE is not set: the deploy API (/v1) is off');
  const dashboard = dashboardAuth(config);
  if (!dashboard) log.warn('SWARMLET_HTPASSWD_FILE is not set: the web dashboard is off');
  const services = {
    deployer,
    operations,
    nodes: new NodeOperations(docker),
    catalog: new RegistryCatalog(config.registry, registryAuth),
    ...(extras.keys && { keys: extras.keys }),
  };
  const handle = createAgentApp(docker, services, token, dashboard).callback();
  const server = createServer(handle);
  const port = await listen(server, config.listen);
  log.info({ port, registry: config.registry, dashboard: dashboard !== undefined }, 'deployer agent listening');
  const second = config.dashboardListen && serveDashboardAddress(handle, config.dashboardListen, log);
  log.info({ signal: await untilSignal() }, 'stopping');
  await second?.stop();
  await closeServer(server);
  return 0;
}

/**
 * Serves the agent on the dashboard's own address as well (`SWARMLET_DASHBOARD_ADDR`), as soon as it is free: a
 * deployer task that starts before the old one stops (start-first) takes it over when the old one lets go.
 */
function serveDashboardAddress(
  handle: RequestListener,
  address: NonNullable<AgentConfig['dashboardListen']>,
  log: ReturnType<typeof createLogger>,
) {
  const server = createServer(handle);
  const stopping = new AbortController();
  const bound = listenWhenFree(server, address, {
    signal: stopping.signal,
    onWait: (error) => {
      log.info({ address, error: error.message }, 'the dashboard address is not free yet: waiting');
    },
  }).then(
    (port) => {
      log.info({ host: address.host, port }, 'the dashboard address is served');
      return true;
    },
    (error: unknown) => {
      if (!stopping.signal.aborted)
        log.error({ address, error: (error as Error).message }, 'cannot serve the dashboard address');
      return false;
    },
  );
  return {
    async stop(): Promise<void> {
      stopping.abort();
      if (await bound) await closeServer(server);
    },
  };
}

/** The dashboard's sign-in: the htpasswd file's users, 5 failed sign-ins per address and user, then one a minute. */
function dashboardAuth(config: AgentConfig): SessionAuth | undefined {
  if (config.htpasswdFile === undefined) return undefined;
  return {
    htpasswd: loadHtpasswd(config.htpasswdFile, { setting: 'SWARMLET_HTPASSWD_FILE', maxConcurrentChecks: 2 }),
    sessions: new SessionStore(),
    throttle: new LoginThrottle({ burst: 5, addressBurst: 20, refillMs: 60_000 }),
    behindProxy: config.behindProxy,
  };
}

async function readRegistryAuth(config: AgentConfig): Promise<RegistryAuth | undefined> {
  if (!config.registryUsername || !config.registryPasswordFile) return undefined;
  const password = (await readFile(config.registryPasswordFile, 'utf8')).trim();
  return { username: config.registryUsername, password, serveraddress: config.registry };
}
