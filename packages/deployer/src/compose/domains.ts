import { createHash } from 'node:crypto';
import { routeLabels, type RouterSettings } from '../routing.js';
import { ComposeError } from './compose-error.js';
import type { ComposeFile, ComposeService } from './resolve.js';
import { routerRules } from './traefik-rules.js';

/** A host that `domains add` routes to a service of the app, kept in the app's settings. */
export interface DomainRoute {
  /** A valid host name, lower case (see {@link validateHostName}). */
  host: string;
  /** The service it reaches; by default the app's only routed service, or `web`, or its only service. */
  service?: string;
  /** The port the service listens on; by default the one its compose definition makes known. */
  port?: number;
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** A host name `domains add` cannot take. */
export class HostNameError extends Error {
  constructor(host: string, why: string) {
    super(`invalid host name ${JSON.stringify(host.slice(0, 100))}: ${why}`);
    this.name = 'HostNameError';
  }
}

/**
 * Checks a host name as DNS and certificates take it: two or more dot-separated labels of letters, digits and `-`
 * (not at either end of a label), at most 63 characters each and 253 in all, a top label that is not a number.
 * Returns it in lower case without a trailing dot.
 * @throws HostNameError saying what is wrong.
 */
export function validateHostName(host: string): string {
  const normal = host.toLowerCase().replace(/\.$/, '');
  if (normal.length === 0 || normal.length > 253) throw new HostNameError(host, 'give 1 to 253 characters');
  const labels = normal.split('.');
  if (labels.length < 2) throw new HostNameError(host, 'give a full name such as app.example.com');
  if (!labels.every((label) => LABEL.test(label))) {
    throw new HostNameError(host, "each part holds letters, digits and '-' (not first or last), up to 63 characters");
  }
  if (/^\d+$/.test(labels.at(-1) ?? '')) throw new HostNameError(host, 'an IP address is not a host name');
  return normal;
}

/** The Traefik router (and service) name of a `domains add` host: unique per host, safe in a label key. */
export function domainRouterName(host: string): string {
  const digest = createHash('sha256').update(host).digest('hex').slice(0, 8);
  return `swarmlet-domain-${host.replaceAll('.', '-')}-${digest}`;
}

/** Whether a Traefik router name is one {@link domainRouterName} made. */
export function isDomainRouter(router: string): boolean {
  return router.startsWith('swarmlet-domain-');
}

/**
 * The service a domain reaches in `compose`: `requested` when given, else the only service with a Traefik router
 * or `traefik.enable=true`, else `web`, else the only service.
 * @throws Error naming the services when `requested` is not one of them or none can be chosen.
 */
export function domainService(compose: ComposeFile, requested: string | undefined): string {
  const names = Object.keys(compose.services);
  if (requested !== undefined) {
    if (!names.includes(requested)) {
      throw new Error(
        `the app has no service ${JSON.stringify(requested.slice(0, 80))} (its services: ${names.join(', ')})`,
      );
    }
    return requested;
  }
  const routed = names.filter((name) => isRouted(compose.services[name] ?? {}));
  const [only] = routed.length === 1 ? routed : names.length === 1 ? names : names.includes('web') ? ['web'] : [];
  if (only === undefined) throw new Error(`give --service: the app has several services (${names.join(', ')})`);
  return only;
}

/**
 * The port a domain reaches on `service`: `requested`, else its Traefik service port label, else its only
 * `ports` target or `expose` entry.
 * @throws Error naming `--port` when none or several are known.
 */
export function domainPort(name: string, service: ComposeService, requested: number | undefined): number {
  if (requested !== undefined) return requested;
  const labels = deployLabels(service);
  const fromLabels = Object.entries(labels)
    .filter(([key]) => /^traefik\.http\.services\.[^.]+\.loadbalancer\.server\.port$/i.test(key))
    .map(([, value]) => Number(value));
  const fromPorts = [
    ...(Array.isArray(service.ports) ? service.ports : []).map(targetPort),
    ...(Array.isArray(service.expose) ? service.expose : []).map((entry) => Number(String(entry).split('/')[0])),
  ];
  for (const found of [fromLabels, fromPorts]) {
    const distinct = [...new Set(found.filter((port) => Number.isInteger(port) && port > 0))];
    if (distinct.length === 1 && distinct[0] !== undefined) return distinct[0];
    if (distinct.length > 1) throw new Error(`${name} listens on ${distinct.join(', ')}: give --port`);
  }
  throw new Error(`the port ${name} listens on is not known from its compose definition: give --port`);
}

/**
 * The compose file with each route's Traefik labels added to its service's `deploy.labels` (see `routeLabels`):
 * `traefik.enable`, the Traefik network (`traefik.swarm.network`, unless the service names one), and a router of
 * its own per host (``Host(`HOST`)``; on the production router the `websecure` entry point with the `letsencrypt`
 * resolver) to a Traefik service on the route's port. A service whose labels name no Traefik network is also
 * attached to `network` (as an external network, keeping the networks it had, `default` when it named none), so the
 * router can reach it. Returns a new file; the input is unchanged. Pure.
 * @throws ComposeError naming the host when its service or port cannot be found.
 */
export function withDomains(
  compose: ComposeFile,
  routes: readonly DomainRoute[],
  network: string,
  router: RouterSettings,
): ComposeFile {
  if (routes.length === 0) return compose;
  const services = { ...compose.services };
  let networks = compose.networks as Record<string, unknown> | undefined;
  for (const route of routes) {
    let name: string;
    let port: number;
    try {
      name = domainService({ ...compose, services }, route.service);
      port = domainPort(name, services[name] ?? {}, route.port);
    } catch (error) {
      throw new ComposeError(`domain ${route.host}: ${(error as Error).message}`, { cause: error });
    }
    let service = services[name] ?? {};
    const labels = deployLabels(service);
    const named = labels['traefik.swarm.network'];
    if (named === undefined && service.network_mode === undefined) {
      const key = networkKey(networks, network);
      networks = { ...networks, [key]: networks?.[key] ?? { external: true, name: network } };
      service = withNetwork(service, key);
    }
    const added = routeLabels(
      { name: domainRouterName(route.host), hosts: [route.host], port, network: named ?? network },
      router,
    );
    services[name] = { ...service, deploy: { ...service.deploy, labels: { ...labels, ...added } } };
  }
  return networks === undefined ? { ...compose, services } : { ...compose, services, networks };
}

/** The key under which `networks` (a compose file's top level) holds the external network `name`, or a new key. */
function networkKey(networks: Record<string, unknown> | undefined, name: string): string {
  for (const [key, value] of Object.entries(networks ?? {})) {
    const definition = (value ?? {}) as { name?: unknown; external?: unknown };
    if ((definition.name ?? (definition.external === true ? key : undefined)) === name) return key;
  }
  let key = 'swarmlet-router';
  for (let n = 2; networks?.[key] !== undefined; n += 1) key = `swarmlet-router-${String(n)}`;
  return key;
}

/** `service` also on the network `key`: added to its list or map of networks, or beside `default` if it has none. */
function withNetwork(service: ComposeService, key: string): ComposeService {
  const current = service.networks;
  if (Array.isArray(current)) {
    const list = current as unknown[];
    return list.includes(key) ? service : { ...service, networks: [...list, key] };
  }
  if (typeof current === 'object' && current !== null) {
    return key in current ? service : { ...service, networks: { ...current, [key]: {} } };
  }
  return { ...service, networks: ['default', key] };
}

function isRouted(service: ComposeService): boolean {
  const labels = deployLabels(service);
  return labels['traefik.enable'] === 'true' || routerRules(labels).length > 0;
}

function deployLabels(service: ComposeService): Record<string, string> {
  const labels = service.deploy?.labels;
  if (Array.isArray(labels)) {
    return Object.fromEntries(
      labels.map((entry) => {
        const line = String(entry);
        const equals = line.indexOf('=');
        return equals < 0 ? [line, ''] : [line.slice(0, equals), line.slice(equals + 1)];
      }),
    );
  }
  return typeof labels === 'object' && labels !== null ? { ...(labels as Record<string, string>) } : {};
}

function targetPort(port: unknown): number {
  if (typeof port === 'number') return port;
  if (typeof port === 'string') return Number(/(\d+)(?:\/\w+)?$/.exec(port)?.[1]);
  const target = (port as { target?: unknown } | null)?.target;
  return typeof target === 'number' ? target : Number(target);
}
