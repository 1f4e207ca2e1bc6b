import { join, resolve } from 'node:path';
import { validateConfig, type Env } from '@swarmlet/common';
import { z } from 'zod';

const schema = z.object({
  SWARMLET_DATA_DIR: z.string().min(1).default('.swarmlet'),
  SWARMLET_SSH_HOST: z.string().min(1).optional(),
  SWARMLET_SSH_PORT: z.coerce.number().int().min(0).max(65535).default(2222),
  SWARMLET_SSH_PORT_WAIT_SECONDS: z.coerce.number().int().min(0).default(0),
  SWARMLET_STACKS_DIR: z.string().min(1).optional(),
  SWARMLET_AUTHORIZED_KEYS: z.string().min(1).optional(),
  SWARMLET_AGENT_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8787'),
  SWARMLET_AGENT_TOKEN_FILE: z.string().min(1).optional(),
  SWARMLET_LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
  PATH: z.string().min(1).default('/usr/local/bin:/usr/bin:/bin'),
  HOME: z.string().min(1).optional(),
});

/** The receiver's settings; every path is absolute. */
export interface ReceiverConfig {
  dataDir: string;
  /** `<data dir>/repos`: one bare repository per app, `<app>.git`. */
  reposDir: string;
  /** `<data dir>/ssh`: the host key. */
  hostKeyDir: string;
  authorizedKeysPath: string;
  /** undefined: every interface. */
  host: string | undefined;
  port: number;
  /** How long `serve` keeps trying while the port is taken (a previous instance draining); 0 fails at once. */
  portWaitMs: number;
  /** Where the core stacks are (`<dir>/<name>/`), to seed the core repositories from; undefined seeds none. */
  stacksDir: string | undefined;
  agent: { url: string; tokenFile?: string };
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  /** The environment git runs with: `PATH` and `HOME` only. */
  gitEnv: Record<string, string>;
}

/**
 * Reads the receiver's settings from the environment, resolving paths against `cwd`: `SWARMLET_DATA_DIR`
 * (default `.swarmlet`), `SWARMLET_SSH_HOST` (default every interface), `SWARMLET_SSH_PORT` (2222),
 * `SWARMLET_SSH_PORT_WAIT_SECONDS` (0), `SWARMLET_STACKS_DIR` (none: no core repository is seeded),
 * `SWARMLET_AUTHORIZED_KEYS` (default `<data dir>/ssh/authorized_keys`), `SWARMLET_AGENT_URL`
 * (`http://127.0.0.1:8787`), `SWARMLET_AGENT_TOKEN_FILE` (none: no token is sent), `SWARMLET_LOG_LEVEL` (`info`),
 * and `PATH`/`HOME` for git. Pure.
 * @throws ConfigError naming the variable that is invalid.
 */
export function loadReceiverConfig(env: Env, cwd: string): ReceiverConfig {
  const parsed = validateConfig(schema, env);
  const dataDir = resolve(cwd, parsed.SWARMLET_DATA_DIR);
  const hostKeyDir = join(dataDir, 'ssh');
  const agent: ReceiverConfig['agent'] = { url: parsed.SWARMLET_AGENT_URL };
  if (parsed.SWARMLET_AGENT_TOKEN_FILE) agent.tokenFile = resolve(cwd, parsed.SWARMLET_AGENT_TOKEN_FILE);
  return {
    dataDir,
    reposDir: join(dataDir, 'repos'),
    hostKeyDir,
    authorizedKeysPath: resolve(cwd, parsed.SWARMLET_AUTHORIZED_KEYS ?? join(hostKeyDir, 'authorized_keys')),
    host: parsed.SWARMLET_SSH_HOST,
    port: parsed.SWARMLET_SSH_PORT,
    portWaitMs: parsed.SWARMLET_SSH_PORT_WAIT_SECONDS * 1000,
    stacksDir: parsed.SWARMLET_STACKS_DIR === undefined ? undefined : resolve(cwd, parsed.SWARMLET_STACKS_DIR),
    agent,
    logLevel: parsed.SWARMLET_LOG_LEVEL,
    gitEnv: { PATH: parsed.PATH, HOME: parsed.HOME ?? dataDir },
  };
}
