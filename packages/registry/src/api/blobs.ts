import type Koa from 'koa';
import { parseDigest } from '../digest.js';
import { RegistryError } from '../errors.js';
import { BLOB_MEDIA_TYPE, recordAction } from '../notifications/events.js';
import type { Stores } from '../stores.js';
import { deferBody } from './deferred-body.js';
import { parseRange } from './request.js';

/** GET and HEAD of a blob, with single `Range` requests answered 206; the bytes go out through pooled buffers. */
export async function getBlob(ctx: Koa.Context, stores: Stores, name: string, digestText: string): Promise<void> {
  const digest = parseDigest(digestText);
  const { size } = await stores.blobs.stat(name, digest);
  const range = parseRange(ctx.get('Range') || undefined, size);
  ctx.set({
    'Docker-Content-Digest': digest.text,
    ETag: `"${digest.text}"`,
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'max-age=31536000',
  });
  ctx.type = 'application/octet-stream';
  if (range) {
    ctx.status = 206;
    ctx.set('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
  } else {
    ctx.status = 200;
  }
  const length = range ? range.end - range.start + 1 : size;
  if (ctx.method === 'HEAD') {
    ctx.length = length;
    return;
  }
  ctx.length = length;
  deferBody(ctx, (response) => stores.blobs.copyTo(digest, response, range?.start, range?.end));
  recordAction(ctx, {
    action: 'pull',
    repository: name,
    digest: digest.text,
    mediaType: BLOB_MEDIA_TYPE,
    size: length,
  });
}

/** DELETE of a blob: removes it from the repository when deletes are enabled. */
export async function deleteBlob(
  ctx: Koa.Context,
  stores: Stores,
  deleteEnabled: boolean,
  name: string,
  digestText: string,
): Promise<void> {
  if (!deleteEnabled)
    throw new RegistryError('UNSUPPORTED', { reason: 'deletes are disabled (storage.delete.enabled)' });
  const digest = parseDigest(digestText);
  await stores.blobs.unlink(name, digest);
  recordAction(ctx, { action: 'delete', repository: name, digest: digest.text, mediaType: BLOB_MEDIA_TYPE });
  ctx.status = 202;
  ctx.set('Docker-Content-Digest', digest.text);
  ctx.body = '';
}
