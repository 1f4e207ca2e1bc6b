import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { validateConfig, type Env } from '@swarmlet/common';
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);

const schema = z.object({
  SWARMLET_DATA_DIR: z.string().min(1).default('.swarmlet'),
  SWARMLET_REGISTRY_PORT: port.default(5000),
  SWARMLET_AGENT_PORT: port.default(8787),
  SWARMLET_SSH_PORT: port.default(2222),
  ROOT_DOMAIN: z.string().min(1).default('localhost'),
  SWARMLET_AUTHORIZED_KEYS: z.string().min(1).optional(),
  HOME: z.string().min(1).optional(),
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
}

/**
 * Reads `swarmlet up`'s settings from the environment (`SWARMLET_DATA_DIR` default `./.swarmlet`,
 * `SWARMLET_REGISTRY_PORT` 5000, `SWARMLET_AGENT_PORT` 8787, `SWARMLET_SSH_PORT` 2222, `ROOT_DOMAIN` localhost,
 * `SWARMLET_AUTHORIZED_KEYS` default `~/.ssh/authorized_keys`), resolving paths against `cwd`. Pure.
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
  };
}
