import type Koa from 'koa';
import { parseDigest, type Digest } from '../digest.js';
import { RegistryError } from '../errors.js';
import { validateRepositoryName } from '../names.js';
import type { Stores } from '../stores.js';
import { BLOB_MEDIA_TYPE, recordAction } from '../notifications/events.js';
import { rangeHeader, type UploadStatus } from '../store/upload-store.js';
import { parseContentRange, single } from './request.js';

/**
 * POST to the uploads endpoint: a monolithic upload (`?digest=`), a cross-repository mount (`?mount=&from=`,
 * 201 when the blob is there, otherwise a new session), or a new upload session (202).
 */
export async function startUpload(ctx: Koa.Context, stores: Stores, name: string): Promise<void> {
  const mount = single(ctx.query.mount);
  const from = single(ctx.query.from);
  const digestText = single(ctx.query.digest);
  if (mount !== undefined) {
    const digest = parseDigest(mount);
    if (await isMountable(stores, digest, from)) {
      await stores.blobs.link(name, digest);
      await created(ctx, stores, name, digest, 'mount', from);
      return;
    }
  }
  const session = await stores.uploads.start(name);
  if (digestText !== undefined && mount === undefined) {
    try {
      const digest = parseDigest(digestText);
      await stores.uploads.complete(name, session.id, digest, ctx.req);
      await created(ctx, stores, name, digest, 'push');
    } catch (error) {
      await stores.uploads.cancel(name, session.id).catch(() => undefined);
      throw error;
    }
    return;
  }
  accepted(ctx, name, session, 202);
}

/** GET of an upload session: 204 with its `Range` and `Location`. */
export async function uploadStatus(ctx: Koa.Context, stores: Stores, name: string, id: string): Promise<void> {
  accepted(ctx, name, await stores.uploads.status(name, id), 204);
}

/** PATCH of a chunk, with or without `Content-Range`. */
export async function appendChunk(ctx: Koa.Context, stores: Stores, name: string, id: string): Promise<void> {
  const range = parseContentRange(ctx.get('Content-Range') || undefined, ctx.get('Content-Length') || undefined);
  accepted(ctx, name, await stores.uploads.append(name, id, ctx.req, range), 202);
}

/** PUT completing an upload with `?digest=` and an optional last chunk. */
export async function completeUpload(ctx: Koa.Context, stores: Stores, name: string, id: string): Promise<void> {
  const digestText = single(ctx.query.digest);
  if (digestText === undefined)
    throw new RegistryError('DIGEST_INVALID', { reason: 'the digest query parameter is required' });
  const digest = parseDigest(digestText);
  const hasBody = Number(ctx.get('Content-Length') || 0) > 0 || ctx.get('Transfer-Encoding') !== '';
  const range = parseContentRange(ctx.get('Content-Range') || undefined, ctx.get('Content-Length') || undefined);
  await stores.uploads.complete(name, id, digest, hasBody ? ctx.req : undefined, range);
  await created(ctx, stores, name, digest, 'push');
}

/** DELETE of an upload session: cancels it. */
export async function cancelUpload(ctx: Koa.Context, stores: Stores, name: string, id: string): Promise<void> {
  await stores.uploads.cancel(name, id);
  ctx.status = 204;
}

async function isMountable(stores: Stores, digest: Digest, from: string | undefined): Promise<boolean> {
  if (from === undefined) return (await stores.blobs.statGlobal(digest)) !== undefined;
  try {
    await stores.blobs.stat(validateRepositoryName(from), digest);
    return true;
  } catch (error) {
    if (error instanceof RegistryError) return false;
    throw error;
  }
}

async function created(
  ctx: Koa.Context,
  stores: Stores,
  name: string,
  digest: Digest,
  action: 'push' | 'mount',
  fromRepository?: string,
): Promise<void> {
  ctx.status = 201;
  ctx.set({ Location: `/v2/${name}/blobs/${digest.text}`, 'Docker-Content-Digest': digest.text });
  ctx.body = '';
  const { size } = await stores.blobs.stat(name, digest);
  recordAction(ctx, {
    action,
    repository: name,
    digest: digest.text,
    mediaType: BLOB_MEDIA_TYPE,
    size,
    ...(fromRepository !== undefined && { fromRepository }),
  });
}

function accepted(ctx: Koa.Context, name: string, session: UploadStatus, status: 202 | 204): void {
  ctx.status = status;
  ctx.set({
    Location: `/v2/${name}/blobs/uploads/${session.id}`,
    Range: rangeHeader(session.size),
    'Docker-Upload-UUID': session.id,
  });
  if (status === 202) ctx.body = '';
}
