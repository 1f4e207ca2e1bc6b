import { readFile, stat } from 'node:fs/promises';
import type { DeployEnvironment } from '../environment/assemble.js';
import { routeLabels, routerName, type RouterSettings } from '../routing.js';
import { OutsideTreeError, resolveInTree } from '../tree-path.js';
import { ComposeError } from './compose-error.js';
import { interpolateValue } from './interpolate.js';
import { COMPOSE_FILE_NAMES } from './load.js';
import type { ComposeFile } from './resolve.js';

/** The Dockerfile a repository without a compose file is deployed from. */
export const DOCKERFILE = 'Dockerfile';

/** The one service a Dockerfile-only app runs as. */
export const DOCKERFILE_SERVICE = 'web';

/** What a Dockerfile-only app needs to know about the platform. */
export interface DockerfileAppOptions {
  app: string;
  /** The deploy's environment (platform variables, `.env`, config, `entrypoint`), with each name's source. */
  environment: DeployEnvironment;
  rootDomain: string;
  registry: string;
  traefikNetwork: string;
  router: RouterSettings;
}

/** A compose file made for a repository that has a Dockerfile and no compose file. */
export interface DockerfileApp {
  /** The compose file as deployed: {@link template} interpolated with the deploy's environment. */
  compose: ComposeFile;
  /** The compose file as a repository would hold it, `${…}` references and all: what a user can copy. */
  template: ComposeFile;
  /** The port to route to when `PORT` or the Dockerfile's `EXPOSE` gives it; else the built image must. */
  port?: number;
  /** Where {@link port} came from, for the deploy log. */
  portSource?: string;
}

/**
 * The compose file of a Dockerfile-only app: one service `web` built from `Dockerfile` at the root, image
 * `${SWARMLET_REGISTRY}/APP`, one replica, the deploy's environment in its environment as `${NAME}` references
 * (the platform's variables but `PATH`, `.env` and the entrypoint's exports; config values are added by the
 * resolve step, so records mask them), on the router's network with a route for `APP.${ROOT_DOMAIN}` (see
 * {@link routeLabels}); updates start first and roll back, as the resolve step makes every service's. The port is `PORT` from the
 * environment, else the first port the Dockerfile's last stage `EXPOSE`s (following `FROM` an earlier stage);
 * when neither gives one it is left for {@link withRoutePort} after the build.
 * @throws ComposeError when the repository has no Dockerfile either (naming both ways to deploy), the Dockerfile
 * leads outside the repository or is not a file, or `PORT` is not a port number.
 */
export async function dockerfileApp(tree: string, options: DockerfileAppOptions): Promise<DockerfileApp> {
  const text = await readDockerfile(tree);
  const { env, sources } = options.environment;
  const environment: Record<string, string> = {};
  for (const name of Object.keys(env).sort()) {
    if (name !== 'PATH' && sources[name] !== 'config') environment[name] = `\${${name}}`;
  }
  const host = `${options.app.replace(/_/g, '-')}.\${ROOT_DOMAIN}`;
  const name = routerName(options.app);
  const template: ComposeFile = {
    services: {
      [DOCKERFILE_SERVICE]: {
        build: { context: '.', dockerfile: DOCKERFILE },
        image: `\${SWARMLET_REGISTRY}/${options.app}`,
        environment,
        networks: ['router'],
        deploy: {
          replicas: 1,
          labels: routeLabels({ name, hosts: [host], network: '${TRAEFIK_NETWORK}' }, options.router),
        },
      },
    },
    networks: { router: { external: true, name: '${TRAEFIK_NETWORK}' } },
  };
  const compose = interpolateValue(template, env) as ComposeFile;
  const given = env.PORT;
  if (given !== undefined && given !== '') {
    const port = parsePort(given, `PORT=${given}`);
    return { compose, template, port, portSource: `PORT from ${sources.PORT ?? 'the environment'}` };
  }
  const exposed = dockerfileExposedPorts(text)[0];
  return exposed === undefined
    ? { compose, template }
    : { compose, template, port: exposed, portSource: `EXPOSE in ${DOCKERFILE}` };
}

/**
 * The compose file with the service port label of the Dockerfile app's route set to `port`. Pure.
 */
export function withRoutePort(compose: ComposeFile, app: string, port: number): ComposeFile {
  const service = compose.services[DOCKERFILE_SERVICE];
  if (!service) return compose;
  const labels = { ...(service.deploy?.labels as Record<string, string> | undefined) };
  labels[`traefik.http.services.${routerName(app)}.loadbalancer.server.port`] = String(port);
  return {
    ...compose,
    services: { ...compose.services, [DOCKERFILE_SERVICE]: { ...service, deploy: { ...service.deploy, labels } } },
  };
}

/** The message of a Dockerfile app whose port neither `PORT`, the Dockerfile nor its base image gives. */
export function missingPortMessage(app: string): string {
  return (
    `no port to route ${app}'s web service to: the image EXPOSEs none and PORT is not set; ` +
    `add EXPOSE <port> to the Dockerfile, or run \`config set ${app} PORT=<port>\` (or set PORT in .env)`
  );
}

/**
 * The ports the last stage of a Dockerfile `EXPOSE`s, in order, with those of the earlier stage it starts `FROM`
 * first; a range gives its first port, a variable (`$PORT`) is skipped. Line continuations and comment lines are
 * read as Docker does with the default escape character. Pure.
 */
export function dockerfileExposedPorts(text: string): number[] {
  const stages = new Map<string, number[]>();
  let current: number[] = [];
  for (const instruction of instructions(text)) {
    const [keyword = '', ...args] = instruction.split(/\s+/);
    const upper = keyword.toUpperCase();
    if (upper === 'FROM') {
      const base = args.find((arg) => !arg.startsWith('--')) ?? '';
      const asIndex = args.findIndex((arg) => arg.toUpperCase() === 'AS');
      current = [...(stages.get(base.toLowerCase()) ?? [])];
      if (asIndex >= 0 && args[asIndex + 1]) stages.set(args[asIndex + 1]?.toLowerCase() ?? '', current);
    } else if (upper === 'EXPOSE') {
      for (const arg of args) {
        const match = /^(\d+)(?:-\d+)?(?:\/(?:tcp|udp|sctp))?$/i.exec(arg);
        const port = match ? Number(match[1]) : NaN;
        if (port >= 1 && port <= 65535) current.push(port);
      }
    }
  }
  return current;
}

/** The image ports a built image declares (`ExposedPorts`, `"8080/tcp"`), lowest first; TCP only. Pure. */
export function lowestExposedPort(exposed: Record<string, unknown> | undefined): number | undefined {
  const ports = Object.keys(exposed ?? {})
    .filter((key) => /^\d+\/tcp$/.test(key))
    .map((key) => Number.parseInt(key, 10))
    .sort((a, b) => a - b);
  return ports[0];
}

function parsePort(text: string, what: string): number {
  const port = /^\d{1,5}$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new ComposeError(`${what} is not a port number (1-65535)`);
  return port;
}

async function readDockerfile(tree: string): Promise<string> {
  let path: string | undefined;
  try {
    path = await resolveInTree(tree, DOCKERFILE);
  } catch (error) {
    if (error instanceof OutsideTreeError) throw new ComposeError(`${DOCKERFILE} leads outside the repository`);
    throw error;
  }
  if (path === undefined) {
    throw new ComposeError(
      `nothing to deploy: the repository has no compose file (${COMPOSE_FILE_NAMES.join(', ')}) and no ${DOCKERFILE}; ` +
        `add a ${DOCKERFILE} to deploy one web service at https://APP.DOMAIN, or a compose file for full control`,
    );
  }
  if (!(await stat(path)).isFile()) throw new ComposeError(`${DOCKERFILE} is not a file`);
  return readFile(path, 'utf8');
}

/** A Dockerfile's instructions, one string each: continuations joined, comments and blank lines left out. */
function* instructions(text: string): Generator<string> {
  let pending = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (pending !== '' && line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    yield `${pending}${line}`.trim();
    pending = '';
  }
  if (pending.trim() !== '') yield pending.trim();
}
