import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context, Next } from 'koa';

/** The dashboard's own front-end files (ES modules and CSS), beside this package's `src` and `dist`. */
const FRONT_END_DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url));

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The import map the pages load the libraries with, as served from `/assets/vendor/`. */
export const IMPORT_MAP = JSON.stringify({
  imports: {
    preact: '/assets/vendor/preact.js',
    'preact/hooks': '/assets/vendor/preact-hooks.js',
    htm: '/assets/vendor/htm.js',
  },
});

/**
 * The Content-Security-Policy of every dashboard response: everything from this origin only, no inline script but
 * the import map (by its hash), no framing.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  `script-src 'self' 'sha256-${createHash('sha256').update(IMPORT_MAP).digest('base64')}'`,
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The files served under `/assets/`: a fixed table made at start-up, so no request names a path. */
function assetTable(): Map<string, string> {
  const require = createRequire(import.meta.url);
  const table = new Map<string, string>();
  for (const entry of readdirSync(FRONT_END_DIR, { recursive: true, encoding: 'utf8' })) {
    if (Object.keys(TYPES).some((ext) => entry.endsWith(ext)))
      table.set(entry.split('\\').join('/'), join(FRONT_END_DIR, entry));
  }
  table.set('vendor/preact.js', require.resolve('preact'));
  table.set('vendor/preact-hooks.js', require.resolve('preact/hooks'));
  table.set('vendor/htm.js', join(dirname(require.resolve('htm')), 'htm.module.js'));
  return table;
}

/**
 * Koa middleware serving `GET /assets/<file>`: the dashboard's front end and the libraries it imports (Preact,
 * its hooks and htm, from this package's dependencies), read once and kept in memory; 404 for any other name. No
 * session is needed: they hold code only, no data. Every other request goes on.
 */
export function serveAssets() {
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const [name, path] of assetTable()) {
    const ext = /\.[a-z]+$/.exec(name)?.[0] ?? '';
    files.set(name, { body: readFileSync(path), type: TYPES[ext] ?? 'application/octet-stream' });
  }
  return async (ctx: Context, next: Next): Promise<void> => {
    if (!ctx.path.startsWith('/assets/')) {
      await next();
      return;
    }
    const file =
      ctx.method === 'GET' || ctx.method === 'HEAD' ? files.get(ctx.path.slice('/assets/'.length)) : undefined;
    if (!file) {
      ctx.status = 404;
      ctx.body = { error: 'no such asset' };
      return;
    }
    ctx.type = file.type;
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = file.body;
  };
}
