import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { validateConfig, type Env } from '@swarmlet/common';
import { z } from 'zod';
import type { AgentLocation } from './agent-door.js';

const port = z.coerce.number().int().min(0).max(65535);

const schema = z.object({
  SWARMLET_DATA_DIR: z.string().min(1).default('.swarmlet'),
  SWARMLET_REGISTRY_PORT: port.default(5000),
  SWARMLET_AGENT_PORT: port.default(8787),
  SWARMLET_SSH_PORT: port.default(2222),
  ROOT_DOMAIN: z.string().min(1).default('localhost'),
  SWARMLET_AUTHORIZED_KEYS: z.string().min(1).optional(),
  HOME: z.string().min(1).optional(),
  SWARMLET_ROUTER: z.enum(['local', 'none']).default('local'),
  SWARMLET_HTTP_PORT: port.default(8080),
  SWARMLET_TRAEFIK_IMAGE: z.string().min(1).default('traefik:v3.3'),
  TRAEFIK_NETWORK: z.string().min(1).default('traefik-public'),
  PATH: z.string().min(1).default('/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'),
  SWARMLET_USERNAME: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, "expected letters, digits, '.', '_' or '-'")
    .default('admin'),
  SWARMLET_PASSWORD_FILE: z.string().min(1).optional(),
});

/** What `swarmlet up` runs with: the embedded defaults, overridden by environment variables. */
export interface UpSettings {
  /** Absolute; everything the platform stores lives below it. */
  dataDir: string;
  registryPort: number;
  agentPort: number;
  sshPort: number;
  rootDomain: string;
  /** The `authorized_keys` file whose keys may push. */
  authorizedKeys: string;
  /** `SWARMLET_ROUTER`: `local` runs the local router when its image can be had; `none` never does. */
  router: 'local' | 'none';
  httpPort: number;
  traefikImage: string;
  traefikNetwork: string;
  path: string;
  /** `SWARMLET_USERNAME`: the platform user, who signs in to the dashboard. */
  username: string;
  /** `SWARMLET_PASSWORD_FILE`: the platform user's password; without it one is made once in the data directory. */
  passwordFile: string | undefined;
}

/**
 * Reads `swarmlet up`'s settings from the environment (`SWARMLET_DATA_DIR` default `./.swarmlet`,
 * `SWARMLET_REGISTRY_PORT` 5000, `SWARMLET_AGENT_PORT` 8787, `SWARMLET_SSH_PORT` 2222, `ROOT_DOMAIN` localhost,
 * `SWARMLET_AUTHORIZED_KEYS` default `~/.ssh/authorized_keys`, `SWARMLET_ROUTER` `local` or `none`,
 * `SWARMLET_HTTP_PORT` 8080, `SWARMLET_TRAEFIK_IMAGE` `traefik:v3.3`, `TRAEFIK_NETWORK` `traefik-public`, `PATH`,
 * `SWARMLET_USERNAME` admin, `SWARMLET_PASSWORD_FILE` none),
 * resolving paths against `cwd`. Pure.
 * @throws ConfigError naming the variable that is invalid.
 */
export function loadUpSettings(env: Env, cwd: string): UpSettings {
  const parsed = validateConfig(schema, env);
  return {
    dataDir: resolve(cwd, parsed.SWARMLET_DATA_DIR),
    registryPort: parsed.SWARMLET_REGISTRY_PORT,
    agentPort: parsed.SWARMLET_AGENT_PORT,
    sshPort: parsed.SWARMLET_SSH_PORT,
    rootDomain: parsed.ROOT_DOMAIN,
    authorizedKeys: resolve(
      cwd,
      parsed.SWARMLET_AUTHORIZED_KEYS ?? join(parsed.HOME ?? homedir(), '.ssh', 'authorized_keys'),
    ),
    router: parsed.SWARMLET_ROUTER,
    httpPort: parsed.SWARMLET_HTTP_PORT,
    traefikImage: parsed.SWARMLET_TRAEFIK_IMAGE,
    traefikNetwork: parsed.TRAEFIK_NETWORK,
    path: parsed.PATH,
    username: parsed.SWARMLET_USERNAME,
    passwordFile: parsed.SWARMLET_PASSWORD_FILE === undefined ? undefined : resolve(cwd, parsed.SWARMLET_PASSWORD_FILE),
  };
}

const platformSchema = z.object({
  SWARMLET_DATA_DIR: z.string().min(1).default('/var/lib/swarmlet'),
  SWARMLET_SSH_PORT: port.default(2222),
  SWARMLET_AUTHORIZED_KEYS: z.string().min(1).optional(),
  SWARMLET_AGENT_TOKEN_FILE: z.string().min(1).optional(),
  SWARMLET_STACKS_DIR: z.string().min(1).optional(),
  SWARMLET_RUN_DIR: z.string().min(1).optional(),
});

/** What `swarmlet platform` (the deployer image's command) runs with. */
export interface PlatformSettings {
  /** Absolute; the agent's data lives in `deployer/` below it, the receiver's in `receiver/`. */
  dataDir: string;
  sshPort: number;
  authorizedKeys: string;
  /** The agent's bearer token (a Docker secret), or undefined to make one in the data directory. */
  agentTokenFile: string | undefined;
  /** Where the core stacks are, to seed the core repositories from. */
  stacksDir: string;
  /** Where this run notes the agent's address for `swarmlet health`: a directory of this container's own. */
  runDir: string;
}

/**
 * Reads `swarmlet platform`'s settings from the environment (`SWARMLET_DATA_DIR` default `/var/lib/swarmlet`,
 * `SWARMLET_SSH_PORT` 2222, `SWARMLET_AUTHORIZED_KEYS` default `<data dir>/authorized_keys`,
 * `SWARMLET_AGENT_TOKEN_FILE`, `SWARMLET_STACKS_DIR` default `bundledStacks`, `SWARMLET_RUN_DIR` default
 * `<tmp>/swarmlet`), resolving paths against `cwd`. The agent's own settings (`SWARMLET_REGISTRY`, `ROOT_DOMAIN`,
 * …) pass through to it unchanged. Pure.
 * @throws ConfigError naming the variable that is invalid.
 */
export function loadPlatformSettings(env: Env, cwd: string, bundledStacks: string): PlatformSettings {
  const parsed = validateConfig(platformSchema, env);
  const dataDir = resolve(cwd, parsed.SWARMLET_DATA_DIR);
  return {
    dataDir,
    sshPort: parsed.SWARMLET_SSH_PORT,
    authorizedKeys: resolve(cwd, parsed.SWARMLET_AUTHORIZED_KEYS ?? join(dataDir, 'authorized_keys')),
    agentTokenFile:
      parsed.SWARMLET_AGENT_TOKEN_FILE === undefined ? undefined : resolve(cwd, parsed.SWARMLET_AGENT_TOKEN_FILE),
    stacksDir: resolve(cwd, parsed.SWARMLET_STACKS_DIR ?? bundledStacks),
    runDir: resolve(cwd, parsed.SWARMLET_RUN_DIR ?? join(tmpdir(), 'swarmlet')),
  };
}

const locationSchema = z.object({
  SWARMLET_AGENT_URL: z.url({ protocol: /^https?$/ }).optional(),
  SWARMLET_AGENT_TOKEN_FILE: z.string().min(1).optional(),
  SWARMLET_RUN_DIR: z.string().min(1).optional(),
});

/**
 * Reads where the platform commands find the agent (see `locateAgent`): `SWARMLET_AGENT_URL`,
 * `SWARMLET_AGENT_TOKEN_FILE` and `SWARMLET_RUN_DIR` (only when set, as in the deployer image, where
 * `swarmlet platform` notes its agent's URL), resolving paths against `cwd`. Pure.
 * @throws ConfigError naming the variable that is invalid.
 */
export function loadAgentLocation(env: Env, cwd: string): AgentLocation {
  const parsed = validateConfig(locationSchema, env);
  return {
    ...(parsed.SWARMLET_AGENT_URL !== undefined && { url: parsed.SWARMLET_AGENT_URL }),
    ...(parsed.SWARMLET_AGENT_TOKEN_FILE !== undefined && {
      tokenFile: resolve(cwd, parsed.SWARMLET_AGENT_TOKEN_FILE),
    }),
    ...(parsed.SWARMLET_RUN_DIR !== undefined && { runDir: resolve(cwd, parsed.SWARMLET_RUN_DIR) }),
  };
}
