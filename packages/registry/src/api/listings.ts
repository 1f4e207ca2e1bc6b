import type Koa from 'koa';
import { parseDigest } from '../digest.js';
import { comparePaths, listRepositories } from '../store/catalog.js';
import { listReferrers } from '../store/referrers.js';
import type { Stores } from '../stores.js';
import { paginate, parsePage, single } from './request.js';

/** Most entries a catalog page returns; also the default page size, as in the CNCF registry. */
const CATALOG_MAX = 1000;
const CATALOG_DEFAULT = 100;
/** Most tags a tags page returns. */
const TAGS_MAX = 10000;

/** GET /v2/_catalog with `n`/`last` pagination and a `Link` header to the next page. */
export async function catalog(ctx: Koa.Context, stores: Stores): Promise<void> {
  const page = parsePage(ctx.query, CATALOG_MAX);
  const { items, next } = paginate(
    await listRepositories(stores.driver),
    { ...page, n: page.n ?? CATALOG_DEFAULT },
    comparePaths,
  );
  if (next !== undefined)
    ctx.set('Link', `</v2/_catalog?n=${page.n ?? CATALOG_DEFAULT}&last=${encodeURIComponent(next)}>; rel="next"`);
  ctx.body = { repositories: items };
}

/** GET /v2/<name>/tags/list with `n`/`last` pagination and a `Link` header to the next page. */
export async function tagsList(ctx: Koa.Context, stores: Stores, name: string): Promise<void> {
  const page = parsePage(ctx.query, TAGS_MAX);
  const { items, next } = paginate(await stores.tags.list(name), page, (a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (next !== undefined && page.n !== undefined) {
    ctx.set('Link', `</v2/${name}/tags/list?n=${page.n}&last=${encodeURIComponent(next)}>; rel="next"`);
  }
  ctx.body = { name, tags: items };
}

/** GET /v2/<name>/referrers/<digest>, with the `artifactType` filter reported in `OCI-Filters-Applied`. */
export async function referrers(ctx: Koa.Context, stores: Stores, name: string, digestText: string): Promise<void> {
  const subject = parseDigest(digestText);
  const artifactType = single(ctx.query.artifactType);
  const index = await listReferrers(stores.manifests, name, subject, artifactType);
  if (artifactType !== undefined) ctx.set('OCI-Filters-Applied', 'artifactType');
  ctx.body = index;
  ctx.type = index.mediaType;
}
