import { resolve } from 'node:path';
import { listenAddressSchema, validateConfig, type Env, type ListenAddress } from '@swarmlet/common';
import { z } from 'zod';
import { DEFAULT_LIMITS, LimitSettingError, parseDuration, type DeployLimits } from './deploy-limits.js';
import { DEFAULT_ENTRYPOINT_UID_BASE, ENTRYPOINT_UID_SPAN } from './environment/entrypoint-users.js';
import type { RouterSettings } from './routing.js';

const seconds = z.coerce.number().int().positive();

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };

/** A size such as `10GiB`, `512 MiB` or `1048576` (bytes), in bytes. */
const size = z
  .string()
  .regex(/^\s*\d+(\.\d+)?\s*(b|kib|mib|gib|tib)?\s*$/i, 'expected a size such as 10GiB, 512MiB or a number of bytes')
  .transform((text) => {
    const [, number = '0', unit = ''] = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text) ?? [];
    return Math.floor(Number(number) * (SIZE_UNITS[unit.toLowerCase()] ?? 1));
  });

/** A time limit such as `30m`, `90s` or `1h30m` (see `parseDuration`), in milliseconds. */
const duration = (key: string) =>
  z.string().transform((text, ctx) => {
    try {
      return parseDuration(key, text);
    } catch (error) {
      if (!(error instanceof LimitSettingError)) throw error;
      ctx.addIssue({ code: 'custom', message: 'expected a duration such as 30m, 90s or 1h30m (from 1s to 24h)' });
      return z.NEVER;
    }
  });

const schema = z.object({
  SWARMLET_AGENT_ADDR: listenAddressSchema.prefault('127.0.0.1:8787'),
  SWARMLET_AGENT_TOKEN_FILE: z.string().min(1).optional(),
  DOCKER_SOCKET: z.string().min(1).default('/var/run/docker.sock'),
  SWARMLET_LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
  SWARMLET_DATA_DIR: z.string().min(1).default('/var/lib/swarmlet'),
  SWARMLET_REPOS_DIR: z.string().min(1).optional(),
  SWARMLET_REGISTRY: z
    .string()
    .regex(/^[a-z0-9.-]+(?::\d{1,5})?$/i, 'expected host or host:port')
    .default('127.0.0.1:5000'),
  SWARMLET_REGISTRY_USERNAME: z.string().min(1).optional(),
  SWARMLET_REGISTRY_PASSWORD_FILE: z.string().min(1).optional(),
  ROOT_DOMAIN: z.string().min(1).default('localhost'),
  SWARMLET_USERNAME: z.string().min(1).default('swarmlet'),
  SWARMLET_EMAIL: z.email().optional(),
  TRAEFIK_NETWORK: z.string().min(1).default('traefik-public'),
  SWARMLET_VERSION: z
    .string()
    .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, 'expected an image tag')
    .default('latest'),
  SWARMLET_PUBLISH_MODE: z.enum(['ingress', 'host']).default('ingress'),
  PATH: z.string().min(1).default('/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'),
  SWARMLET_CONVERGE_TIMEOUT_SECONDS: seconds.default(300),
  SWARMLET_ENTRYPOINT_TIMEOUT_SECONDS: seconds.default(120),
  SWARMLET_ENTRYPOINT_UID_BASE: z.coerce
    .number()
    .int()
    .min(1000)
    .max(2 ** 31 - 1 - ENTRYPOINT_UID_SPAN)
    .default(DEFAULT_ENTRYPOINT_UID_BASE),
  SWARMLET_DEPLOY_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  SWARMLET_BUILDER: z.enum(['auto', 'buildkit', 'classic']).default('auto'),
  SWARMLET_BUILD_CACHE_LIMIT: size.prefault('10GiB'),
  SWARMLET_ROUTER: z.enum(['traefik', 'local', 'none']).default('traefik'),
  SWARMLET_HTTP_PORT: z.coerce.number().int().min(1).max(65535).default(8080),
  SWARMLET_BUILD_TIMEOUT: duration('SWARMLET_BUILD_TIMEOUT').optional(),
  SWARMLET_PUSH_TIMEOUT: duration('SWARMLET_PUSH_TIMEOUT').optional(),
  SWARMLET_STACK_DEPLOY_TIMEOUT: duration('SWARMLET_STACK_DEPLOY_TIMEOUT').optional(),
  SWARMLET_ENGINE_TIMEOUT: duration('SWARMLET_ENGINE_TIMEOUT').optional(),
  SWARMLET_DEPLOY_TIMEOUT: duration('SWARMLET_DEPLOY_TIMEOUT').optional(),
  SWARMLET_HISTORY_LIMIT: z.coerce.number().int().min(1).max(10_000).default(20),
  SWARMLET_HTPASSWD_FILE: z.string().min(1).optional(),
  SWARMLET_BEHIND_PROXY: z.enum(['true', 'false']).default('false'),
  SWARMLET_DASHBOARD_ADDR: listenAddressSchema.optional(),
  SWARMLET_HOST_DOCKER_SOCKET: z
    .string()
    .regex(/^\/[^\0]*$/, 'expected an absolute path')
    .optional(),
});

/** The deployer agent's settings. */
export interface AgentConfig {
  listen: ListenAddress;
  /** The file holding the API's bearer token; the API refuses every request without one. */
  tokenFile: string | undefined;
  dockerSocket: string;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  /** Absolute; work trees, the history and the docker CLI's credentials live below it. */
  dataDir: string;
  /** `SWARMLET_REPOS_DIR`: the receiver's bare repositories, which `apps` lists and `destroy` removes. */
  reposDir: string | undefined;
  registry: string;
  registryUsername: string | undefined;
  /** The file (a Docker secret, say) holding the registry password: never an environment variable. */
  registryPasswordFile: string | undefined;
  rootDomain: string;
  username: string;
  /** `SWARMLET_EMAIL`: the operator's address (Let's Encrypt's contact); `admin@<ROOT_DOMAIN>` by default. */
  email: string;
  traefikNetwork: string;
  /** `SWARMLET_VERSION`: the tag of the platform's own images, told to every deploy. */
  version: string;
  /** `SWARMLET_PUBLISH_MODE`: how the core stacks publish ports (`host` where swarm has no routing mesh). */
  publishMode: 'ingress' | 'host';
  path: string;
  convergeTimeoutMs: number;
  entrypointTimeoutMs: number;
  /** `SWARMLET_ENTRYPOINT_UID_BASE`: apps' entrypoints run as uids from it up, one per app, used by nothing else. */
  entrypointUidBase: number;
  concurrency: number;
  /** `SWARMLET_BUILDER`: `auto` (BuildKit when the engine offers it), `buildkit` or `classic`. */
  builder: 'auto' | 'buildkit' | 'classic';
  /** `SWARMLET_BUILD_CACHE_LIMIT`: the BuildKit cache is pruned down to it after a build; 0 never prunes. */
  buildCacheLimitBytes: number;
  /** `SWARMLET_ROUTER` (`traefik`) and `SWARMLET_HTTP_PORT` (8080, for `local`): what routes HTTP to the apps. */
  router: RouterSettings;
  /**
   * The platform's time limits of a deploy but convergence's (`convergeTimeoutMs`): `SWARMLET_BUILD_TIMEOUT`,
   * `SWARMLET_PUSH_TIMEOUT`, `SWARMLET_STACK_DEPLOY_TIMEOUT`, `SWARMLET_ENGINE_TIMEOUT`, `SWARMLET_DEPLOY_TIMEOUT`.
   * An app's config may set its own.
   */
  limits: Omit<DeployLimits, 'convergeMs'>;
  /**
   * `SWARMLET_HISTORY_LIMIT`: how many deploys of each app the history keeps; the images, registry tags and files
   * of older ones are removed.
   */
  historyLimit: number;
  /**
   * `SWARMLET_HTPASSWD_FILE`: the platform user's bcrypt htpasswd entry (the registry's), which signs in to the web
   * dashboard; without it the dashboard is off.
   */
  htpasswdFile: string | undefined;
  /** `SWARMLET_BEHIND_PROXY` (`false`): a proxy (Traefik) stands in front, so clients are told by `X-Forwarded-For`. */
  behindProxy: boolean;
  /**
   * `SWARMLET_DASHBOARD_ADDR` (none): a second address the agent serves on, for the dashboard's route from the
   * router (on an install, the node's docker_gwbridge gateway, which containers reach). It is taken once it is free.
   */
  dashboardListen: ListenAddress | undefined;
  /**
   * What a deploy of a core stack is told of this install besides the platform's variables, so a push of the
   * deployer repository keeps it: `DOCKER_SOCKET` (from `SWARMLET_HOST_DOCKER_SOCKET`, the engine's socket on the
   * node) and `DASHBOARD_ADDR` (from `SWARMLET_DASHBOARD_ADDR`) when set, and `SWARMLET_ROUTER`.
   */
  coreVariables: Record<string, string>;
}

/**
 * Reads the agent's settings from the environment: `SWARMLET_AGENT_ADDR` (default `127.0.0.1:8787`),
 * `SWARMLET_AGENT_TOKEN_FILE`, `DOCKER_SOCKET`, `SWARMLET_LOG_LEVEL`, `SWARMLET_DATA_DIR` (default
 * `/var/lib/swarmlet`, resolved against `cwd`), `SWARMLET_REPOS_DIR` (none), `SWARMLET_REGISTRY` (default `127.0.0.1:5000`),
 * `SWARMLET_REGISTRY_USERNAME` and `SWARMLET_REGISTRY_PASSWORD_FILE`, `ROOT_DOMAIN`, `SWARMLET_USERNAME`, `SWARMLET_EMAIL`,
 * `TRAEFIK_NETWORK`, `SWARMLET_VERSION` (`latest`), `SWARMLET_PUBLISH_MODE` (`ingress`), `PATH`,
 * `SWARMLET_CONVERGE_TIMEOUT_SECONDS` (300), `SWARMLET_ENTRYPOINT_TIMEOUT_SECONDS` (120),
 * `SWARMLET_ENTRYPOINT_UID_BASE` (2100000000; the range above it must be free),
 * `SWARMLET_DEPLOY_CONCURRENCY` (2), `SWARMLET_BUILDER` (`auto`), `SWARMLET_BUILD_CACHE_LIMIT` (`10GiB`; KiB, MiB,
 * GiB, TiB or bytes), `SWARMLET_ROUTER` (`traefik`: the router core stack; `local`: a plain-HTTP Traefik on
 * `SWARMLET_HTTP_PORT`, 8080; `none`: no router, deploys report published ports), and the time limits as
 * durations (`30m`, `90s`, `1h30m`): `SWARMLET_BUILD_TIMEOUT` (30m), `SWARMLET_PUSH_TIMEOUT` (10m),
 * `SWARMLET_STACK_DEPLOY_TIMEOUT` (5m), `SWARMLET_ENGINE_TIMEOUT` (2m), `SWARMLET_DEPLOY_TIMEOUT` (none), `SWARMLET_HISTORY_LIMIT` (20), `SWARMLET_HTPASSWD_FILE` (none: no dashboard),
 * `SWARMLET_BEHIND_PROXY` (`false`), `SWARMLET_DASHBOARD_ADDR` (none), `SWARMLET_HOST_DOCKER_SOCKET` (none). Pure.
 * @throws ConfigError naming the variable that is invalid.
 */
export function loadAgentConfig(env: Env, cwd = '/'): AgentConfig {
  const parsed = validateConfig(schema, env);
  return {
    listen: parsed.SWARMLET_AGENT_ADDR,
    tokenFile: parsed.SWARMLET_AGENT_TOKEN_FILE,
    dockerSocket: parsed.DOCKER_SOCKET,
    logLevel: parsed.SWARMLET_LOG_LEVEL,
    dataDir: resolve(cwd, parsed.SWARMLET_DATA_DIR),
    reposDir: parsed.SWARMLET_REPOS_DIR === undefined ? undefined : resolve(cwd, parsed.SWARMLET_REPOS_DIR),
    registry: parsed.SWARMLET_REGISTRY,
    registryUsername: parsed.SWARMLET_REGISTRY_USERNAME,
    registryPasswordFile: parsed.SWARMLET_REGISTRY_PASSWORD_FILE,
    rootDomain: parsed.ROOT_DOMAIN,
    username: parsed.SWARMLET_USERNAME,
    email: parsed.SWARMLET_EMAIL ?? `admin@${parsed.ROOT_DOMAIN}`,
    traefikNetwork: parsed.TRAEFIK_NETWORK,
    version: parsed.SWARMLET_VERSION,
    publishMode: parsed.SWARMLET_PUBLISH_MODE,
    path: parsed.PATH,
    convergeTimeoutMs: parsed.SWARMLET_CONVERGE_TIMEOUT_SECONDS * 1000,
    entrypointTimeoutMs: parsed.SWARMLET_ENTRYPOINT_TIMEOUT_SECONDS * 1000,
    entrypointUidBase: parsed.SWARMLET_ENTRYPOINT_UID_BASE,
    concurrency: parsed.SWARMLET_DEPLOY_CONCURRENCY,
    builder: parsed.SWARMLET_BUILDER,
    buildCacheLimitBytes: parsed.SWARMLET_BUILD_CACHE_LIMIT,
    router:
      parsed.SWARMLET_ROUTER === 'local'
        ? { kind: 'local', httpPort: parsed.SWARMLET_HTTP_PORT }
        : { kind: parsed.SWARMLET_ROUTER },
    limits: {
      buildMs: parsed.SWARMLET_BUILD_TIMEOUT ?? DEFAULT_LIMITS.buildMs,
      pushMs: parsed.SWARMLET_PUSH_TIMEOUT ?? DEFAULT_LIMITS.pushMs,
      stackDeployMs: parsed.SWARMLET_STACK_DEPLOY_TIMEOUT ?? DEFAULT_LIMITS.stackDeployMs,
      engineCallMs: parsed.SWARMLET_ENGINE_TIMEOUT ?? DEFAULT_LIMITS.engineCallMs,
      ...(parsed.SWARMLET_DEPLOY_TIMEOUT !== undefined && { deployMs: parsed.SWARMLET_DEPLOY_TIMEOUT }),
    },
    historyLimit: parsed.SWARMLET_HISTORY_LIMIT,
    htpasswdFile: parsed.SWARMLET_HTPASSWD_FILE === undefined ? undefined : resolve(cwd, parsed.SWARMLET_HTPASSWD_FILE),
    behindProxy: parsed.SWARMLET_BEHIND_PROXY === 'true',
    dashboardListen: parsed.SWARMLET_DASHBOARD_ADDR,
    coreVariables: {
      ...(parsed.SWARMLET_HOST_DOCKER_SOCKET !== undefined && { DOCKER_SOCKET: parsed.SWARMLET_HOST_DOCKER_SOCKET }),
      ...(env.SWARMLET_DASHBOARD_ADDR !== undefined && { DASHBOARD_ADDR: env.SWARMLET_DASHBOARD_ADDR }),
      SWARMLET_ROUTER: parsed.SWARMLET_ROUTER,
    },
  };
}
