import { randomUUID } from 'node:crypto';
import type Koa from 'koa';

/** What an API handler did that listeners hear about: a manifest or blob pushed, pulled, mounted or deleted. */
export interface RegistryAction {
  action: 'push' | 'pull' | 'delete' | 'mount';
  repository: string;
  digest: string;
  mediaType?: string;
  size?: number;
  tag?: string;
  /** For a mount: the repository the blob came from, when the client named one. */
  fromRepository?: string;
}

/** One event of the CNCF registry's notification envelope (`application/vnd.docker.distribution.events.v1+json`). */
export interface RegistryEvent {
  id: string;
  timestamp: string;
  action: RegistryAction['action'];
  target: {
    mediaType?: string;
    size?: number;
    length?: number;
    digest: string;
    repository: string;
    url: string;
    tag?: string;
    fromRepository?: string;
  };
  request: { id: string; addr: string; host: string; method: string; useragent: string };
  actor: { name?: string };
  source: { addr: string; instanceID: string };
}

const STATE_KEY = 'registryAction';

/** The media type blob events carry, as the CNCF registry's do. */
export const BLOB_MEDIA_TYPE = 'application/octet-stream';

/** Notes on `ctx.state` what the handler did; the notifier reads it once the request has been answered. */
export function recordAction(ctx: Koa.Context, action: RegistryAction): void {
  (ctx.state as Record<string, unknown>)[STATE_KEY] = action;
}

/** What the request's handler recorded with {@link recordAction}, if anything. */
export function recordedAction(ctx: Koa.Context): RegistryAction | undefined {
  return (ctx.state as Record<string, unknown>)[STATE_KEY] as RegistryAction | undefined;
}

/**
 * The envelope event for `action`, done by the request in `ctx` on the registry identified by `source`. The
 * target's URL uses the request's scheme and `Host`; the actor is the user the auth middleware accepted.
 */
export function buildEvent(
  ctx: Koa.Context,
  action: RegistryAction,
  source: { addr: string; instanceID: string },
): RegistryEvent {
  const kind = action.mediaType === BLOB_MEDIA_TYPE ? 'blobs' : 'manifests';
  const user = (ctx.state as { user?: unknown }).user;
  return {
    id: randomUUID(),
    timestamp: new Date().toISOString(),
    action: action.action,
    target: {
      ...(action.mediaType !== undefined && { mediaType: action.mediaType }),
      ...(action.size !== undefined && { size: action.size, length: action.size }),
      digest: action.digest,
      repository: action.repository,
      url: `${ctx.protocol}://${ctx.host}/v2/${action.repository}/${kind}/${action.digest}`,
      ...(action.tag !== undefined && { tag: action.tag }),
      ...(action.fromRepository !== undefined && { fromRepository: action.fromRepository }),
    },
    request: {
      id: randomUUID(),
      addr: `${ctx.req.socket.remoteAddress ?? ''}:${String(ctx.req.socket.remotePort ?? '')}`,
      host: ctx.host,
      method: ctx.method,
      useragent: ctx.get('User-Agent'),
    },
    actor: typeof user === 'string' ? { name: user } : {},
    source,
  };
}
