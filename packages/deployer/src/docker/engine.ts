import Docker from 'dockerode';

/** What the agent reports about the Docker engine it drives. */
export interface EngineStatus {
  version: string;
  apiVersion: string;
  /** The local node's swarm state: `active`, `inactive`, `pending`, `error` or `locked`. */
  swarm: string;
  /** Whether this node is a swarm manager (only managers can `docker stack deploy`). */
  manager: boolean;
}

/**
 * A dockerode client for the local engine: the socket at `socketPath`, by default `/var/run/docker.sock`.
 * Nothing is contacted until the first call.
 */
export function connectEngine(socketPath = '/var/run/docker.sock'): Docker {
  return new Docker({ socketPath });
}

/** Asks the engine for its version and swarm state. Rejects when the engine does not answer. */
export async function describeEngine(docker: Docker): Promise<EngineStatus> {
  const [version, info] = await Promise.all([
    docker.version(),
    docker.info() as Promise<{ Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } }>,
  ]);
  return {
    version: version.Version,
    apiVersion: version.ApiVersion,
    swarm: info.Swarm?.LocalNodeState ?? 'inactive',
    manager: info.Swarm?.ControlAvailable === true,
  };
}

/**
 * Makes this engine a swarm manager: when its swarm is inactive, runs `swarm init` advertising `advertiseAddr`.
 * Resolves with true when it initialised a swarm, false when one was already active.
 * @throws when the engine does not answer, or the node is in a swarm but not a manager.
 */
export async function ensureSwarm(docker: Docker, advertiseAddr = '127.0.0.1'): Promise<boolean> {
  const status = await describeEngine(docker);
  if (status.swarm === 'active') {
    if (!status.manager) throw new Error('this node is a swarm worker: run Swarmlet on a manager node');
    return false;
  }
  await docker.swarmInit({ ListenAddr: '0.0.0.0:2377', AdvertiseAddr: advertiseAddr });
  return true;
}
