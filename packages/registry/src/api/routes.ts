import Router, { type RouterMiddleware } from '@koa/router';
import type Koa from 'koa';
import { RegistryError } from '../errors.js';
import { validateRepositoryName } from '../names.js';
import type { Stores } from '../stores.js';
import { deleteBlob, getBlob } from './blobs.js';
import { catalog, referrers, tagsList } from './listings.js';
import { deleteManifest, getManifest, putManifest } from './manifests.js';
import { appendChunk, cancelUpload, completeUpload, startUpload, uploadStatus } from './uploads.js';

/** What the API routes need besides the stores. */
export interface ApiOptions {
  deleteEnabled: boolean;
}

type NameHandler = (ctx: Koa.Context, name: string, parameter: string) => Promise<void>;

const NAME = '(.+)';
const SEGMENT = '([^/]+)';

/**
 * The OCI Distribution API's routes. Repository names contain slashes, so name-bearing routes are regular
 * expressions; the name is validated before any handler runs. An unknown path is 404 and a known path with
 * another method is 405, both as spec errors.
 */
export function apiRouter(stores: Stores, options: ApiOptions): Router {
  const router = new Router();
  const route = (pattern: string, handler: NameHandler): [RegExp, RouterMiddleware] => [
    new RegExp(`^/v2/${NAME}/${pattern}$`),
    async (ctx) => {
      const [rawName, parameter] = ctx.captures ?? [];
      await handler(ctx, validateRepositoryName(rawName ?? ''), parameter ?? '');
    },
  ];

  router.get('/v2/', (ctx) => {
    ctx.body = {};
  });
  router.get('/v2/_catalog', (ctx) => catalog(ctx, stores));

  const manifests = route(`manifests/${SEGMENT}`, async (ctx, name, reference) => {
    if (ctx.method === 'PUT') await putManifest(ctx, stores, name, reference);
    else if (ctx.method === 'DELETE') await deleteManifest(ctx, stores, options.deleteEnabled, name, reference);
    else await getManifest(ctx, stores, name, reference);
  });
  router
    .get(...manifests)
    .put(...manifests)
    .delete(...manifests);

  const uploadStart = route('blobs/uploads/?', (ctx, name) => startUpload(ctx, stores, name));
  router.post(...uploadStart);

  const upload = route(`blobs/uploads/${SEGMENT}`, async (ctx, name, id) => {
    if (ctx.method === 'PATCH') await appendChunk(ctx, stores, name, id);
    else if (ctx.method === 'PUT') await completeUpload(ctx, stores, name, id);
    else if (ctx.method === 'DELETE') await cancelUpload(ctx, stores, name, id);
    else await uploadStatus(ctx, stores, name, id);
  });
  router
    .get(...upload)
    .patch(...upload)
    .put(...upload)
    .delete(...upload);

  const blob = route(`blobs/${SEGMENT}`, async (ctx, name, digest) => {
    if (ctx.method === 'DELETE') await deleteBlob(ctx, stores, options.deleteEnabled, name, digest);
    else await getBlob(ctx, stores, name, digest);
  });
  router.get(...blob).delete(...blob);

  router.get(...route('tags/list', (ctx, name) => tagsList(ctx, stores, name)));
  router.get(...route(`referrers/${SEGMENT}`, (ctx, name, digest) => referrers(ctx, stores, name, digest)));
  return router;
}

/**
 * Answers requests no route took, as spec errors: 405 UNSUPPORTED for a known path with another method, 404
 * NOT_FOUND otherwise. Returns the middleware to put before the router and the one to put after it.
 */
export function unmatched(router: Router): { before: Koa.Middleware; after: RouterMiddleware } {
  return {
    before: async (ctx, next) => {
      await next();
      if (ctx.status === 404 && ctx.body == null) throw new RegistryError('NOT_FOUND');
    },
    after: router.allowedMethods({
      throw: true,
      methodNotAllowed: () => new RegistryError('UNSUPPORTED', { reason: 'method not allowed for this resource' }),
      notImplemented: () => new RegistryError('UNSUPPORTED', { reason: 'method not implemented' }),
    }),
  };
}
