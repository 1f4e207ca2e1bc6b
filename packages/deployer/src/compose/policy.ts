import { realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { isWithin } from '../tree-path.js';
import type { ComposeFile, ComposeService } from './resolve.js';
import { describeObject, normalizeHost, routerRules, ruleHosts, traefikObject } from './traefik-rules.js';

/** Who holds a host or a Traefik object: a core stack of the platform, or an app. */
export interface RouteOwner {
  owner: string;
  platform: boolean;
}

/** The hosts and Traefik objects (routers, services, middlewares) that someone already holds. */
export interface RoutingClaims {
  /** By normalized host name. */
  hosts: ReadonlyMap<string, RouteOwner>;
  /** By `<protocol>.<kind>.<name>`, e.g. `http.routers.registry`. */
  objects: ReadonlyMap<string, RouteOwner>;
}

/** A swarm service's Traefik labels and the stack that owns it. */
export interface RoutedService {
  /** The stack (`com.docker.stack.namespace`), or the service's name outside a stack. */
  owner: string;
  service: string;
  labels: Readonly<Record<string, string>>;
}

/** What a compose file is checked against. */
export interface PolicyInput {
  app: string;
  /** The checkout's root. */
  tree: string;
  /** The compose file as named in the checkout, relative to `tree`: relative paths resolve against its directory. */
  file: string;
  /** Hosts and Traefik objects held by the platform and other apps. */
  claims: RoutingClaims;
}

/** The hosts the platform keeps for itself under its root domain, deployed or not, with the core stack that serves each. */
export function platformHosts(rootDomain: string): [string, string][] {
  return [
    [`registry.${rootDomain}`, 'registry'],
    [`traefik.${rootDomain}`, 'router'],
    [`swarmlet.${rootDomain}`, 'deployer'],
  ].map(([host, owner]) => [normalizeHost(host ?? ''), owner ?? '']);
}

/**
 * Who holds what among `services` (the swarm's routed services) and the platform's own hosts of `rootDomain`:
 * a stack named in `coreApps` holds for the platform. The first holder of a host is kept. Pure.
 */
export function routingClaims(
  services: readonly RoutedService[],
  rootDomain: string,
  coreApps: readonly string[],
): RoutingClaims {
  const hosts = new Map<string, RouteOwner>();
  const objects = new Map<string, RouteOwner>();
  for (const [host, owner] of platformHosts(rootDomain)) hosts.set(host, { owner, platform: true });
  for (const service of services) {
    const owner = { owner: service.owner, platform: coreApps.includes(service.owner) };
    for (const { rule } of routerRules(service.labels)) {
      for (const host of ruleHosts(rule).hosts) if (!hosts.has(host)) hosts.set(host, owner);
    }
    for (const label of Object.keys(service.labels)) {
      const object = traefikObject(label);
      const key = object && `${object.protocol}.${object.kind}.${object.name}`;
      if (key && !objects.has(key)) objects.set(key, owner);
    }
  }
  return { hosts, objects };
}

/** How a message names who holds a host: `the platform (registry)` or `app shop`. */
export function describeOwner(owner: RouteOwner): string {
  return owner.platform ? `the platform (${owner.owner})` : `app ${owner.owner}`;
}

/**
 * The compose policy for untrusted apps: every way the compose file would reach beyond the app, as one line each,
 * `<file>: service <name>: <field>: <what> is not allowed for an untrusted app (…apps trust APP)`, or
 * `<file>: <top-level field>: …`. Empty when the file keeps to the app. Refused:
 * - bind mounts (short `SRC:DST` with a path source, long `type: bind`) of the Docker socket or of a path outside
 *   the checkout (relative paths resolve against the compose file's directory; `~`, absolute paths and symbolic
 *   links are followed to where they really lead); `npipe` mounts; `env_file` outside the checkout;
 * - `privileged`, `cap_add`, `devices`, `pid`/`ipc`/`userns_mode`/`network_mode` `host` (and `container:…`),
 *   `security_opt` that disables confinement (`…unconfined`, `label:disable`), and networks whose name is `host`;
 * - top-level volumes that are not the app's (`external` or `name:` not starting with `<app>_`) or that a driver
 *   maps onto the host (`driver_opts.device`, `o: bind`, a driver other than `local`);
 * - top-level secrets and configs named `swarmlet-*` (the platform's) and `file:` paths outside the checkout;
 * - Traefik labels (`deploy.labels` and `labels`, list or map): a rule naming a host held by the platform or by
 *   another app, a rule that does not restrict its router to named hosts (negation, a catch-all, no `Host` matcher
 *   in some alternative), any `HostRegexp`/`HostSNIRegexp` (a pattern cannot be checked against the hosts
 *   others hold), a router, service or middleware name another stack defines (Traefik would drop both
 *   definitions), and a router sending traffic to Traefik's own `@internal` services.
 * Reads the file system only to follow paths (never the files' content).
 */
export async function checkComposePolicy(compose: ComposeFile, input: PolicyInput): Promise<string[]> {
  const tree = await realpath(input.tree);
  const projectDir = resolve(tree, dirname(input.file));
  const found: string[] = [];
  const refuse = (where: string, what: string): void => {
    found.push(
      `${input.file}: ${where}: ${what} is not allowed for an untrusted app (an admin can run \`apps trust ${input.app}\`)`,
    );
  };
  const outside = (path: string) => leavesTree(tree, projectDir, path);
  for (const [name, service] of Object.entries(compose.services)) {
    const refuseHere: Refuse = (field, what) => {
      refuse(`service ${name}: ${field}`, what);
    };
    await checkService(service, refuseHere, outside, compose);
    checkLabels(service, input, refuseHere);
  }
  checkVolumes(compose.volumes, input.app, refuse);
  for (const kind of ['secrets', 'configs'] as const) await checkFileObjects(compose[kind], kind, outside, refuse);
  return found;
}

type Refuse = (field: string, what: string) => void;
type Outside = (path: string) => Promise<string | undefined>;

async function checkService(service: ComposeService, refuse: Refuse, outside: Outside, compose: ComposeFile) {
  for (const [index, volume] of list(service.volumes).entries()) {
    const bind = bindSource(volume);
    if (bind === 'npipe') refuse(`volumes[${index}]`, 'a named pipe mount');
    else if (bind !== undefined) {
      const real = await outside(bind);
      if (real !== undefined) refuse(`volumes[${index}]`, `bind mount of ${describePath(bind, real)}`);
    }
  }
  const envFiles = typeof service.env_file === 'string' ? [service.env_file] : list(service.env_file);
  for (const [index, entry] of envFiles.entries()) {
    const path = typeof entry === 'string' ? entry : asMap(entry).path;
    if (typeof path !== 'string') continue;
    const real = await outside(path);
    if (real !== undefined) refuse(`env_file[${index}]`, describePath(path, real));
  }
  if (service.privileged === true) refuse('privileged', 'privileged: true');
  if (list(service.cap_add).length > 0) refuse('cap_add', `cap_add (${list(service.cap_add).map(String).join(', ')})`);
  if (list(service.devices).length > 0) refuse('devices', `devices (${list(service.devices).map(text).join(', ')})`);
  for (const field of ['pid', 'ipc', 'userns_mode', 'network_mode', 'cgroup'] as const) {
    const value = service[field];
    if (typeof value === 'string' && /^(?:host$|container:)/i.test(value)) {
      refuse(field, `${field}: ${value}`);
    }
  }
  for (const [index, option] of list(service.security_opt).entries()) {
    if (/unconfined|label[:=]disable/i.test(String(option))) refuse(`security_opt[${index}]`, String(option));
  }
  const networks = asMap(compose.networks);
  const joined = Array.isArray(service.networks) ? service.networks.map(String) : Object.keys(asMap(service.networks));
  for (const network of joined) {
    const definition = asMap(networks[network]);
    const external = asMap(definition.external);
    const name = definition.name ?? external.name ?? (definition.external === undefined ? undefined : network);
    if (name === 'host' || definition.driver === 'host' || (network === 'host' && !(network in networks))) {
      refuse(`networks.${network}`, "the host's network");
    }
  }
}

function checkLabels(service: ComposeService, input: PolicyInput, refuse: Refuse): void {
  const places: [string, unknown][] = [
    ['deploy.labels', asMap(service.deploy).labels],
    ['labels', service.labels],
  ];
  for (const [place, value] of places) {
    const labels = labelMap(value);
    for (const { label, rule } of routerRules(labels)) {
      const field = `${place}.${label}`;
      const read = ruleHosts(rule);
      if (read.regexp) refuse(field, 'a HostRegexp rule (name each host with Host(`…`))');
      else if (!read.restricted)
        refuse(field, `the rule ${JSON.stringify(rule)}, which does not name its hosts with Host(\`…\`),`);
      for (const host of read.hosts) {
        const owner = input.claims.hosts.get(host);
        if (owner && (owner.platform || owner.owner !== input.app)) {
          refuse(field, `a router for ${host}, which ${describeOwner(owner)} routes,`);
        }
      }
    }
    const named = new Set<string>();
    for (const [label, value] of Object.entries(labels)) {
      const object = traefikObject(label);
      if (!object) continue;
      const key = `${object.protocol}.${object.kind}.${object.name}`;
      const owner = input.claims.objects.get(key);
      if (owner && (owner.platform || owner.owner !== input.app) && !named.has(key)) {
        named.add(key);
        refuse(
          `${place}.${label}`,
          `the ${describeObject(object)}, which ${describeOwner(owner)} already defines (Traefik's names are shared by every stack: rename it, e.g. ${input.app}-${object.name}),`,
        );
      }
      if (object.kind === 'routers' && /\.service$/i.test(label) && /@internal$/i.test(value.trim())) {
        refuse(`${place}.${label}`, `a router to Traefik's own ${value.trim()}`);
      }
    }
  }
}

function checkVolumes(volumes: unknown, app: string, refuse: Refuse): void {
  for (const [key, value] of Object.entries(asMap(volumes))) {
    const volume = asMap(value);
    const external = asMap(volume.external);
    const isExternal = volume.external === true || volume.external === 'true' || Object.keys(external).length > 0;
    const name = volume.name ?? external.name ?? (isExternal ? key : undefined);
    if (typeof name === 'string' && !name.startsWith(`${app}_`)) {
      refuse(`volumes.${key}`, `the volume ${name}, which is not one of this app's (${app}_…),`);
    }
    const options = asMap(volume.driver_opts);
    if (options.device !== undefined || /\bbind\b/.test(text(options.o ?? ''))) {
      refuse(`volumes.${key}.driver_opts`, `a volume on the host's ${text(options.device ?? 'files')}`);
    }
    if (volume.driver !== undefined && volume.driver !== 'local') {
      refuse(`volumes.${key}.driver`, `the volume driver ${text(volume.driver)}`);
    }
  }
}

async function checkFileObjects(
  objects: unknown,
  kind: 'secrets' | 'configs',
  outside: Outside,
  refuse: Refuse,
): Promise<void> {
  for (const [key, value] of Object.entries(asMap(objects))) {
    const object = asMap(value);
    const external = asMap(object.external);
    const isExternal = object.external === true || Object.keys(external).length > 0;
    const name = object.name ?? external.name ?? (isExternal ? key : undefined);
    if (typeof name === 'string' && name.toLowerCase().startsWith('swarmlet-')) {
      refuse(`${kind}.${key}`, `the platform's ${kind.slice(0, -1)} ${name}`);
    }
    if (typeof object.file === 'string') {
      const real = await outside(object.file);
      if (real !== undefined) refuse(`${kind}.${key}.file`, describePath(object.file, real));
    }
  }
}

/** The host path a volume entry binds, `npipe` for a named pipe, or undefined for a volume or tmpfs. */
function bindSource(volume: unknown): string | undefined {
  if (typeof volume === 'string') {
    const colon = volume.indexOf(':');
    if (colon < 0) return undefined;
    const source = volume.slice(0, colon);
    return /^[./~]/.test(source) ? source : undefined;
  }
  const entry = asMap(volume);
  if (entry.type === 'npipe') return 'npipe';
  if (entry.type === 'bind') return typeof entry.source === 'string' ? entry.source : '/';
  return undefined;
}

/**
 * Where `path` (absolute, `~…`, or relative to `projectDir`) really leads when that is outside `tree`, else
 * undefined. A path that does not exist yet is judged by its nearest existing parent.
 */
async function leavesTree(tree: string, projectDir: string, path: string): Promise<string | undefined> {
  if (path.startsWith('~') || path.includes('\0')) return path;
  const absolute = resolve(projectDir, path);
  const real = await realExisting(absolute);
  return isWithin(tree, real) ? undefined : real;
}

async function realExisting(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(path) === path) throw error;
    return join(await realExisting(dirname(path)), basename(path));
  }
}

/** `PATH (what it is)`, with where it really leads when it was written relative to the project. */
function describePath(written: string, real: string): string {
  const socket = basename(real) === 'docker.sock' || basename(written) === 'docker.sock';
  const what = socket ? 'the Docker socket' : 'a path outside the repository';
  return isAbsolute(written) || written.startsWith('~') ? `${written} (${what})` : `${written} (${what}: ${real})`;
}

function labelMap(value: unknown): Record<string, string> {
  if (Array.isArray(value)) {
    return Object.fromEntries(
      value.map((entry) => {
        const line = String(entry);
        const equals = line.indexOf('=');
        return equals < 0 ? [line, ''] : [line.slice(0, equals), line.slice(equals + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(asMap(value)).map(([key, entry]) => [key, text(entry)]));
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function asMap(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
