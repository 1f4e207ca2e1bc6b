import yaml from 'js-yaml';
import { splitReference } from '../image-reference.js';

/** A compose service as far as the deployer reads or changes it. */
export type ComposeService = Record<string, unknown> & {
  image?: string;
  build?: string | BuildDefinition;
  deploy?: Record<string, unknown>;
};

/** A compose file's parsed content. */
export type ComposeFile = Record<string, unknown> & { services: Record<string, ComposeService> };

/** The object form of a service's `build:`. */
export interface BuildDefinition {
  context?: string;
  dockerfile?: string;
  args?: Record<string, string> | string[];
  target?: string;
  labels?: Record<string, string> | string[];
  cache_from?: string[];
  /**
   * Build secrets beyond the app's config values by their own names: `NAME` (id `NAME`) or
   * `{source: NAME, target: ID}`; `NAME` is the app config value, or the one that a top-level
   * `secrets.NAME.environment` names.
   */
  secrets?: (string | { source: string; target?: string })[];
}

/** The image a service runs: a name that moves with every deploy, and this deploy's immutable tag. */
export interface ServiceImage {
  service: string;
  /** The image's name without tag, e.g. `127.0.0.1:5000/my-app-web`. */
  repository: string;
  /** The tag the service's `image:` names (or `latest`). */
  tag: string;
  /** The immutable tag of this deploy: the commit. */
  commitTag: string;
}

/** One image to build, shared by every service with the same build definition, and tagged for each of them. */
export interface BuildTarget {
  images: ServiceImage[];
  context: string;
  dockerfile: string;
  args: Record<string, string>;
  target?: string;
  labels: Record<string, string>;
  cacheFrom: string[];
  /** Secret ids the build gets from `build.secrets`: id → the app config value's name. */
  secrets: Record<string, string>;
}

/**
 * The images a deploy builds: one per distinct build definition among the services with `build:`. A service
 * without `image:` gets `<registry>/<app>-<service>`. Pure.
 */
export function planBuilds(compose: ComposeFile, app: string, registry: string, commit: string): BuildTarget[] {
  const targets = new Map<string, BuildTarget>();
  for (const [name, service] of Object.entries(compose.services)) {
    if (service.build === undefined) continue;
    const build = typeof service.build === 'string' ? { context: service.build } : service.build;
    const { repository, tag } = splitReference(service.image ?? `${registry}/${app}-${name}`);
    const image = { service: name, repository, tag, commitTag: commit };
    const definition = {
      context: build.context ?? '.',
      dockerfile: build.dockerfile ?? 'Dockerfile',
      args: toMap(build.args),
      labels: toMap(build.labels),
      cacheFrom: build.cache_from ?? [],
      secrets: buildSecretNames(compose, build.secrets),
      ...(build.target !== undefined && { target: build.target }),
    };
    const key = JSON.stringify(definition);
    const existing = targets.get(key);
    if (existing) existing.images.push(image);
    else targets.set(key, { images: [image], ...definition });
  }
  return [...targets.values()];
}

/**
 * The secrets one build gets, id → value: every app config value under its own name, then the ids that the
 * build definition's `build.secrets` maps to config values. Pure.
 * @throws Error naming the id and the value when `build.secrets` names a config value the app does not have.
 */
export function buildSecretsFor(target: BuildTarget, values: Record<string, string>): Record<string, string> {
  const secrets = { ...values };
  for (const [id, name] of Object.entries(target.secrets)) {
    const value = Object.hasOwn(values, name) ? values[name] : undefined;
    if (value === undefined) {
      throw new Error(`build.secrets gives the build secret ${id} from ${name}, which is not an app config value`);
    }
    secrets[id] = value;
  }
  return secrets;
}

function buildSecretNames(compose: ComposeFile, entries: BuildDefinition['secrets']): Record<string, string> {
  const topLevel = asObject(compose.secrets);
  const names: Record<string, string> = {};
  for (const entry of entries ?? []) {
    const source = typeof entry === 'string' ? entry : entry.source;
    const id = typeof entry === 'string' ? entry : (entry.target ?? entry.source);
    const environment = asObject(topLevel[source]).environment;
    names[id] = typeof environment === 'string' ? environment : source;
  }
  return names;
}

/** What the deployer adds to every deployed service. */
export interface ResolveOptions {
  app: string;
  /** The image reference each built service runs (its immutable tag). */
  images: Record<string, string>;
  /** The app's config: added to the environment of every built service, unless the service sets the name itself. */
  config?: Readonly<Record<string, string>>;
  /** Replicas per service that replace the compose file's (`scale`). */
  scale?: Readonly<Record<string, number>>;
  /**
   * For a copy to show and keep (the history): every config value is replaced by {@link MASK} where the config
   * put it, and wherever else a value of 4 or more characters appears (a compose file may interpolate one).
   */
  maskConfig?: boolean;
}

/** What stands for a config value in a masked compose file. */
export const MASK = '********';

/**
 * The compose file as it is deployed: each built service's `image:` pinned to its immutable reference and its
 * `build:` removed; every service labelled `swarmlet.managed=true` and `swarmlet.app=<app>`; and, unless the
 * project says otherwise, updates that start the new task before stopping the old one (stop first for a service
 * publishing a host-mode port, which two tasks cannot share) and roll back on failure, so a broken version never
 * replaces a working one. Top-level secrets given by `environment:` serve builds only (`build.secrets`) and are
 * left out, as `docker stack deploy` refuses them. Every `$` is written `$$`, since the values are already
 * interpolated and `docker stack deploy` interpolates once more. Returns YAML text. Pure.
 */
export function resolveCompose(compose: ComposeFile, options: ResolveOptions): string {
  const services: Record<string, ComposeService> = {};
  for (const [name, service] of Object.entries(compose.services)) {
    const rest = Object.fromEntries(Object.entries(service).filter(([key]) => key !== 'build'));
    const deploy = { ...(service.deploy ?? {}) };
    deploy.labels = {
      ...toMap(deploy.labels as Record<string, string> | string[] | undefined),
      ...ownership(options.app),
    };
    const order = publishesHostPorts(service) ? 'stop-first' : 'start-first';
    deploy.update_config = {
      order,
      failure_action: 'rollback',
      monitor: '10s',
      ...asObject(deploy.update_config),
    };
    deploy.rollback_config = { order, ...asObject(deploy.rollback_config) };
    const replicas = options.scale?.[name];
    if (replicas !== undefined) deploy.replicas = replicas;
    const image = options.images[name];
    const environment =
      image !== undefined && options.config && Object.keys(options.config).length > 0
        ? { environment: withConfig(service.environment, options.config, options.maskConfig === true) }
        : {};
    services[name] = {
      ...rest,
      ...environment,
      ...(image !== undefined && { image }),
      labels: { ...toMap(service.labels as Record<string, string> | string[] | undefined), ...ownership(options.app) },
      deploy,
    };
  }
  const resolved: Record<string, unknown> = { ...compose, services };
  const runtimeSecrets = Object.entries(asObject(compose.secrets)).filter(
    ([, secret]) => asObject(secret).environment === undefined,
  );
  if (compose.secrets !== undefined) {
    if (runtimeSecrets.length > 0) resolved.secrets = Object.fromEntries(runtimeSecrets);
    else delete resolved.secrets;
  }
  const shown = options.maskConfig && options.config ? maskValues(resolved, Object.values(options.config)) : resolved;
  return yaml.dump(escapeDollars(shown), { lineWidth: -1, noRefs: true });
}

/** A service's environment as a map with the config added under the names it does not set itself. */
function withConfig(
  environment: unknown,
  config: Readonly<Record<string, string>>,
  mask: boolean,
): Record<string, string | null> {
  const own: Record<string, string | null> = {};
  if (Array.isArray(environment)) {
    for (const entry of environment.map(String)) {
      const equals = entry.indexOf('=');
      if (equals < 0) own[entry] = null;
      else own[entry.slice(0, equals)] = entry.slice(equals + 1);
    }
  } else {
    for (const [key, value] of Object.entries(asObject(environment))) {
      own[key] = value === null || value === undefined ? null : scalarText(value);
    }
  }
  const added = Object.fromEntries(
    Object.entries(config)
      .filter(([key]) => !(key in own))
      .map(([key, value]) => [key, mask ? MASK : value]),
  );
  return { ...added, ...own };
}

/** Replaces every occurrence of each secret of 4 or more characters in the strings of `value` by {@link MASK}. */
function maskValues(value: unknown, secrets: string[]): unknown {
  const long = secrets.filter((secret) => secret.length >= 4).sort((a, b) => b.length - a.length);
  const mask = (entry: unknown): unknown => {
    if (typeof entry === 'string') return long.reduce((text, secret) => text.replaceAll(secret, MASK), entry);
    if (Array.isArray(entry)) return entry.map(mask);
    if (typeof entry === 'object' && entry !== null) {
      return Object.fromEntries(Object.entries(entry).map(([key, item]) => [key, mask(item)]));
    }
    return entry;
  };
  return mask(value);
}

/** Doubles every `$` in strings: `docker stack deploy` interpolates again, and the values are final already. */
function escapeDollars(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll('$', '$$$$');
  if (Array.isArray(value)) return value.map(escapeDollars);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, escapeDollars(entry)]));
  }
  return value;
}

/**
 * The app's public URLs, read from its services' Traefik `Host(…)` rules (`traefik.http.routers.*.rule` in
 * `deploy.labels`): `https://<host>` for each host named, in order, without repeats.
 */
export function appUrls(compose: ComposeFile): string[] {
  const urls: string[] = [];
  for (const service of Object.values(compose.services)) {
    const labels = toMap(service.deploy?.labels as Record<string, string> | string[] | undefined);
    for (const [key, value] of Object.entries(labels)) {
      if (!/^traefik\.http\.routers\.[^.]+\.rule$/.test(key)) continue;
      for (const match of value.matchAll(/Host\(([^)]*)\)/g)) {
        for (const host of (match[1] ?? '').matchAll(/[`'"]([^`'"]+)[`'"]/g)) {
          const url = `https://${host[1] ?? ''}`;
          if (!urls.includes(url)) urls.push(url);
        }
      }
    }
  }
  return urls;
}

/** A host-mode published port can be held by one task per node, so such a service cannot start before stopping. */
function publishesHostPorts(service: ComposeService): boolean {
  const ports = service.ports;
  return Array.isArray(ports) && ports.some((port) => asObject(port).mode === 'host');
}

function ownership(app: string): Record<string, string> {
  return { 'swarmlet.managed': 'true', 'swarmlet.app': app };
}

function toMap(value: Record<string, string> | string[] | undefined): Record<string, string> {
  if (value === undefined) return {};
  if (!Array.isArray(value)) return { ...value };
  return Object.fromEntries(
    value.map((entry) => {
      const equals = entry.indexOf('=');
      return equals < 0 ? [entry, ''] : [entry.slice(0, equals), entry.slice(equals + 1)];
    }),
  );
}

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** A compose scalar (string, number, boolean) as the text a container's environment gets. */
function scalarText(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : JSON.stringify(value);
}
