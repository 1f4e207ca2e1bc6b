import type { ComposeFile } from './compose/resolve.js';
import { appUrls } from './compose/resolve.js';

/**
 * What routes HTTP to the apps on this platform:
 * - `traefik`: the router core stack (production): HTTPS on 443 with Let's Encrypt, HTTP redirected to it;
 * - `local`: a Traefik that `npm start` runs on a plain-HTTP port of this machine, so `http://APP.localhost:PORT`
 *   answers in a browser;
 * - `none`: no router runs (its image could not be pulled): an app answers only on the ports it publishes.
 */
export type RouterKind = 'traefik' | 'local' | 'none';

/** The router the deployer writes labels for and reports URLs of. */
export interface RouterSettings {
  kind: RouterKind;
  /** The local router's HTTP port (`local` only). */
  httpPort?: number;
}

/** The production router: what a deploy assumes when it is told nothing else. */
export const PRODUCTION_ROUTER: RouterSettings = { kind: 'traefik' };

/** What one generated route says: a router name, its hosts, and the port of the service it sends requests to. */
export interface Route {
  /** A Traefik router and service name: letters, digits and `-`. */
  name: string;
  hosts: string[];
  port?: number;
  /** The overlay network Traefik reaches the service through. */
  network: string;
}

/**
 * The Traefik labels (for `deploy.labels`) that route `route.hosts` to the service: the `websecure` entry point
 * with the `letsencrypt` resolver of the production router (which redirects HTTP to it), also when no router
 * runs (the labels are then what production needs); the plain `web` entry point of the local router; the service
 * port label only when the port is known. Pure.
 */
export function routeLabels(route: Route, router: RouterSettings): Record<string, string> {
  const prefix = `traefik.http.routers.${route.name}`;
  const secure = router.kind !== 'local';
  return {
    'traefik.enable': 'true',
    'traefik.swarm.network': route.network,
    [`${prefix}.rule`]: route.hosts.map((host) => `Host(\`${host}\`)`).join(' || '),
    [`${prefix}.entrypoints`]: secure ? 'websecure' : 'web',
    ...(secure && { [`${prefix}.tls.certresolver`]: 'letsencrypt' }),
    [`${prefix}.service`]: route.name,
    ...(route.port !== undefined && {
      [`traefik.http.services.${route.name}.loadbalancer.server.port`]: String(route.port),
    }),
  };
}

/** A Traefik router name for an app: its name with `.` and `_` made `-`. Pure. */
export function routerName(app: string): string {
  return app.replace(/[._]/g, '-');
}

/** Where a deployed app answers, as a deploy reports it. */
export interface Reachability {
  /** URLs that answer through the router. */
  urls: string[];
  /** Lines for the pusher when there is no router: each published port, or why there is none. */
  notes: string[];
}

/**
 * Where the app of `compose` answers through `router`: `https://HOST` for each Host rule under the production
 * router, `http://HOST:PORT` under the local one; with no router, no URL but a note per published port
 * (`web: http://127.0.0.1:30080 (port 8080)`), or one saying the app publishes none. Pure.
 */
export function reachability(compose: ComposeFile, router: RouterSettings): Reachability {
  const urls = appUrls(compose);
  if (router.kind === 'traefik') return { urls, notes: [] };
  if (router.kind === 'local') {
    const port = router.httpPort === undefined || router.httpPort === 80 ? '' : `:${String(router.httpPort)}`;
    return { urls: urls.map((url) => `${url.replace(/^https:/, 'http:')}${port}`), notes: [] };
  }
  const notes: string[] = [];
  for (const [name, service] of Object.entries(compose.services)) {
    for (const { published, target } of publishedPorts(service.ports)) {
      notes.push(`${name}: http://127.0.0.1:${published} (port ${target})`);
    }
  }
  if (notes.length === 0) {
    notes.push(
      urls.length > 0
        ? `no router runs here, so ${urls.join(', ')} cannot answer, and no service publishes a port`
        : 'no service publishes a port',
    );
  } else if (urls.length > 0) {
    notes.unshift(`no router runs here, so ${urls.join(', ')} cannot answer; published ports:`);
  }
  return { urls: [], notes };
}

/** The published ports of a compose service's `ports:` list, short (`"8080:80/tcp"`) or long syntax. */
function publishedPorts(ports: unknown): { published: string; target: string }[] {
  if (!Array.isArray(ports)) return [];
  const found: { published: string; target: string }[] = [];
  for (const entry of ports as unknown[]) {
    if (typeof entry === 'object' && entry !== null) {
      const { published, target } = entry as { published?: string | number; target?: string | number };
      if (published !== undefined && published !== '')
        found.push({ published: `${published}`, target: `${target ?? ''}` });
      continue;
    }
    const parts = `${entry as string | number}`.replace(/\/(tcp|udp|sctp)$/, '').split(':');
    const target = parts.pop() ?? '';
    const published = parts.pop();
    if (published) found.push({ published, target });
  }
  return found;
}
