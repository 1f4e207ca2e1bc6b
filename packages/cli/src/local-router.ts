import { join } from 'node:path';
import type { Logger } from '@swarmlet/common';
import {
  deployStack,
  imageUnavailable,
  writeDockerConfig,
  type connectEngine,
  type RouterSettings,
} from '@swarmlet/deployer';
import { BUNDLED_STACKS_DIR } from './processes.js';

/** What the local router needs to know. */
export interface LocalRouterSettings {
  /** `SWARMLET_ROUTER`: `local` (default: run it when its image can be had) or `none` (never). */
  wanted: 'local' | 'none';
  image: string;
  httpPort: number;
  traefikNetwork: string;
  dataDir: string;
  /** `PATH` for the docker CLI. */
  path: string;
  /** The stack's name: `router` unless a test runs one of its own. */
  stack?: string;
}

/**
 * Runs the router `npm start` offers (`stacks/local-router`, deployed as the stack `router`): Traefik on plain
 * HTTP at `httpPort`, when its image is on this engine or can be pulled. When it cannot, says so once (with the
 * engine's reason and what to do) and resolves `none`, so deploys report their published ports instead of URLs
 * that nothing serves. Resolves with the router the deployer is told about.
 */
export async function startLocalRouter(
  docker: ReturnType<typeof connectEngine>,
  settings: LocalRouterSettings,
  log: Logger,
): Promise<RouterSettings> {
  if (settings.wanted === 'none') return { kind: 'none' };
  const missing = await imageUnavailable(docker, settings.image);
  if (missing !== undefined) {
    log.warn(
      { image: settings.image, reason: missing.split('\n')[0] },
      `the router image ${settings.image} is not on this machine and cannot be pulled: apps are not routed here, each deploy prints its published ports (pull the image or set SWARMLET_TRAEFIK_IMAGE, then start again)`,
    );
    return { kind: 'none' };
  }
  const dockerConfig = await writeDockerConfig(join(settings.dataDir, 'router-docker-config'), undefined);
  await deployStack(
    {
      name: settings.stack ?? 'router',
      composeFile: join(BUNDLED_STACKS_DIR, 'local-router', 'docker-compose.yml'),
      dockerConfig,
      resolveImage: 'never',
      env: {
        PATH: settings.path,
        TRAEFIK_IMAGE: settings.image,
        TRAEFIK_NETWORK: settings.traefikNetwork,
        SWARMLET_HTTP_PORT: String(settings.httpPort),
      },
    },
    (line) => {
      log.debug({ line }, 'router stack');
    },
  );
  log.info({ port: settings.httpPort }, `router: apps answer at http://APP.localhost:${String(settings.httpPort)}`);
  return { kind: 'local', httpPort: settings.httpPort };
}
