import { readFile, stat } from 'node:fs/promises';
import { resolveInTree } from '../tree-path.js';
import { parseDotenv } from './dotenv.js';
import { sourceEntrypoint, type EntrypointOptions } from './entrypoint.js';

/** The registry the nodes pull from when none is configured. */
export const DEFAULT_REGISTRY = '127.0.0.1:5000';

/** The `PATH` a deploy gets when none is configured. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const DOTENV_FILE = '.env';

/**
 * What the platform tells a deploy. It holds no password, token or other secret, by design: every value ends up
 * readable in the deployed services' specs.
 */
export interface PlatformVariables {
  /** `SWARMLET_REGISTRY`: the registry address the nodes pull from; {@link DEFAULT_REGISTRY} by default. */
  registry?: string;
  /** `ROOT_DOMAIN`: the domain apps are served under. */
  rootDomain: string;
  /** `SWARMLET_USERNAME`: the platform's user. */
  username: string;
  /** `SWARMLET_EMAIL`: the operator's address; `admin@<rootDomain>` by default. */
  email?: string;
  /** `TRAEFIK_NETWORK`: the overlay network Traefik routes through. */
  traefikNetwork: string;
  /** `SWARMLET_VERSION`: the tag of the platform's own images; `latest` by default. */
  version?: string;
  /** `SWARMLET_PUBLISH_MODE`: `ingress`, or `host` where swarm has no routing mesh; `ingress` by default. */
  publishMode?: 'ingress' | 'host';
  /** `APP_NAME`: the app being deployed. */
  app: string;
  /** `GIT_SHA`: the commit being deployed. */
  commit: string;
  /** `GIT_BRANCH`: the branch it was pushed to. */
  branch: string;
  /** `PATH` for the entrypoint and the programs a deploy runs; {@link DEFAULT_PATH} by default. */
  path?: string;
  /** More variables by name (the platform's own stacks get the install's choices); the names above win. */
  extra?: Readonly<Record<string, string>>;
}

/** Where a variable of a deploy's environment got its value. */
export type VariableSource = 'platform' | '.env' | 'config' | 'entrypoint';

/** A deploy's environment and, for each variable, where its value came from. */
export interface DeployEnvironment {
  env: Record<string, string>;
  /** Has exactly the names of `env`. */
  sources: Record<string, VariableSource>;
}

/**
 * The platform's variables under their environment names: `SWARMLET_REGISTRY`, `ROOT_DOMAIN`,
 * `SWARMLET_USERNAME`, `SWARMLET_EMAIL`, `TRAEFIK_NETWORK`, `SWARMLET_VERSION`, `SWARMLET_PUBLISH_MODE`, `APP_NAME`,
 * `GIT_SHA`, `GIT_BRANCH` and `PATH`, with the defaults filled in, after the `extra` ones. Pure.
 */
export function platformEnvironment(platform: PlatformVariables): Record<string, string> {
  return {
    ...platform.extra,
    SWARMLET_REGISTRY: platform.registry ?? DEFAULT_REGISTRY,
    ROOT_DOMAIN: platform.rootDomain,
    SWARMLET_USERNAME: platform.username,
    SWARMLET_EMAIL: platform.email ?? `admin@${platform.rootDomain}`,
    TRAEFIK_NETWORK: platform.traefikNetwork,
    SWARMLET_VERSION: platform.version ?? 'latest',
    SWARMLET_PUBLISH_MODE: platform.publishMode ?? 'ingress',
    APP_NAME: platform.app,
    GIT_SHA: platform.commit,
    GIT_BRANCH: platform.branch,
    PATH: platform.path ?? DEFAULT_PATH,
  };
}

/**
 * A deploy's environment for the work tree `tree`, built in this order, later winning: the platform's variables
 * ({@link platformEnvironment}), then the project's `.env` when there is one (data, expanded against what comes
 * before it, see `dotenv.ts`), then the app's config (`config set`, kept on the server: it overrides committed
 * defaults), then the environment the project's `entrypoint` leaves when it is sourced by a bash that starts with
 * exactly the variables so far (see `entrypoint.ts`; what it unsets is gone). Nothing of this
 * process's own environment is in it. A variable the entrypoint leaves unchanged keeps its earlier source.
 * @throws OutsideTreeError when `.env` is a link leading outside the tree; Error when `.env` is not a file;
 * DotenvError naming the line of a `.env` entry that cannot be read; EntrypointError when the entrypoint fails
 * or times out.
 */
export async function assembleEnvironment(
  tree: string,
  platform: PlatformVariables,
  options: EntrypointOptions,
  config: Readonly<Record<string, string>> = {},
): Promise<DeployEnvironment> {
  const env = platformEnvironment(platform);
  const sources: Record<string, VariableSource> = {};
  for (const name of Object.keys(env)) sources[name] = 'platform';
  const dotenvPath = await resolveInTree(tree, DOTENV_FILE);
  if (dotenvPath !== undefined) {
    if (!(await stat(dotenvPath)).isFile()) throw new Error(`${DOTENV_FILE} is not a file`);
    const entries = parseDotenv(await readFile(dotenvPath, 'utf8'), env, DOTENV_FILE);
    for (const [name, value] of Object.entries(entries)) {
      env[name] = value;
      sources[name] = DOTENV_FILE;
    }
  }
  for (const [name, value] of Object.entries(config)) {
    env[name] = value;
    sources[name] = 'config';
  }
  const exported = await sourceEntrypoint(tree, env, options);
  if (exported === undefined) return { env, sources };
  const after: Record<string, VariableSource> = {};
  for (const [name, value] of Object.entries(exported)) {
    const before = sources[name];
    after[name] = before !== undefined && env[name] === value ? before : 'entrypoint';
  }
  return { env: exported, sources: after };
}
