import type Koa from 'koa';
import { RegistryError } from '../errors.js';
import { MEDIA_TYPES } from '../manifest.js';
import { parseReference } from '../names.js';
import type { StoredManifest } from '../store/manifest-store.js';
import { recordAction } from '../notifications/events.js';
import type { Stores } from '../stores.js';
import { readBody } from './request.js';

/** The largest manifest accepted, as the OCI spec suggests registries accept at least 4 MiB. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** PUT of a manifest by tag or digest. */
export async function putManifest(ctx: Koa.Context, stores: Stores, name: string, reference: string): Promise<void> {
  const body = await readBody(ctx.req, MAX_MANIFEST_BYTES, (reason) =>
    reason === 'too large'
      ? new RegistryError('MANIFEST_TOO_LARGE', { limit: MAX_MANIFEST_BYTES })
      : new RegistryError('MANIFEST_INVALID', { reason: 'the body ended before its declared length' }),
  );
  const parsed = parseReference(reference, 'TAG_INVALID');
  const stored = await stores.manifests.put(name, parsed, body, ctx.get('Content-Type') || undefined);
  ctx.status = 201;
  ctx.set({ Location: `/v2/${name}/manifests/${stored.digest.text}`, 'Docker-Content-Digest': stored.digest.text });
  if (stored.manifest.subject) ctx.set('OCI-Subject', stored.manifest.subject.digest.text);
  ctx.body = '';
  recordAction(ctx, {
    action: 'push',
    repository: name,
    digest: stored.digest.text,
    mediaType: stored.manifest.mediaType,
    size: stored.body.length,
    ...(parsed.tag !== undefined && { tag: parsed.tag }),
  });
}

/**
 * GET and HEAD of a manifest. The stored manifest is served as it was pushed; when it is a manifest list or
 * index that the client's `Accept` excludes, and a tag was asked for, the entry for linux/amd64 is served
 * instead if the client accepts its type, as the CNCF registry does for clients that predate lists.
 */
export async function getManifest(ctx: Koa.Context, stores: Stores, name: string, reference: string): Promise<void> {
  const parsed = parseReference(reference, 'MANIFEST_UNKNOWN');
  let stored = await stores.manifests.get(name, parsed);
  const accepted = acceptedTypes(ctx.get('Accept'));
  if (stored.manifest.isIndex && accepted && !accepted.has(stored.manifest.mediaType) && parsed.tag !== undefined) {
    stored = (await platformManifest(stores, name, stored, accepted)) ?? stored;
  }
  ctx.status = 200;
  ctx.type = stored.manifest.mediaType;
  ctx.set({ 'Docker-Content-Digest': stored.digest.text, ETag: `"${stored.digest.text}"` });
  if (ctx.method === 'HEAD') {
    ctx.length = stored.body.length;
    return;
  }
  ctx.body = stored.body;
  recordAction(ctx, {
    action: 'pull',
    repository: name,
    digest: stored.digest.text,
    mediaType: stored.manifest.mediaType,
    size: stored.body.length,
    ...(parsed.tag !== undefined && { tag: parsed.tag }),
  });
}

/** DELETE of a manifest by digest (with its tags) or of a tag, when deletes are enabled. */
export async function deleteManifest(
  ctx: Koa.Context,
  stores: Stores,
  deleteEnabled: boolean,
  name: string,
  reference: string,
): Promise<void> {
  if (!deleteEnabled)
    throw new RegistryError('UNSUPPORTED', { reason: 'deletes are disabled (storage.delete.enabled)' });
  const parsed = parseReference(reference, 'MANIFEST_UNKNOWN');
  await stores.manifests.delete(name, parsed);
  recordAction(
    ctx,
    parsed.tag === undefined
      ? { action: 'delete', repository: name, digest: parsed.digest.text }
      : { action: 'delete', repository: name, digest: '', tag: parsed.tag },
  );
  ctx.status = 202;
  ctx.body = '';
}

function acceptedTypes(header: string): Set<string> | undefined {
  const types = header
    .split(',')
    .map((entry) => entry.split(';')[0]?.trim().toLowerCase() ?? '')
    .filter(Boolean);
  if (types.length === 0 || types.includes('*/*')) return undefined;
  return new Set(types);
}

async function platformManifest(
  stores: Stores,
  name: string,
  index: StoredManifest,
  accepted: Set<string>,
): Promise<StoredManifest | undefined> {
  const entry = index.manifest.manifests.find(
    (candidate) =>
      candidate.platform?.os === 'linux' &&
      candidate.platform.architecture === 'amd64' &&
      accepted.has(candidate.mediaType) &&
      candidate.mediaType !== MEDIA_TYPES.ociIndex,
  );
  return entry && (await stores.manifests.getByDigest(name, entry.digest));
}
