import { listenAddressSchema, validateConfig, type Env, type ListenAddress } from '@swarmlet/common';
import { z } from 'zod';

const schema = z.object({
  SWARMLET_AGENT_ADDR: listenAddressSchema.prefault('127.0.0.1:8787'),
  DOCKER_SOCKET: z.string().min(1).default('/var/run/docker.sock'),
  SWARMLET_LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
});

/** The deployer agent's settings. */
export interface AgentConfig {
  listen: ListenAddress;
  dockerSocket: string;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
}

/**
 * Reads the agent's settings from the environment: `SWARMLET_AGENT_ADDR` (default `127.0.0.1:8787`),
 * `DOCKER_SOCKET` (default `/var/run/docker.sock`), `SWARMLET_LOG_LEVEL` (default `info`). Pure.
 * @throws ConfigError naming the variable that is invalid.
 */
export function loadAgentConfig(env: Env): AgentConfig {
  const parsed = validateConfig(schema, env);
  return {
    listen: parsed.SWARMLET_AGENT_ADDR,
    dockerSocket: parsed.DOCKER_SOCKET,
    logLevel: parsed.SWARMLET_LOG_LEVEL,
  };
}
