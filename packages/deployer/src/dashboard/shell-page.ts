import { IMPORT_MAP } from './assets.js';
import { escapeHtml } from './html.js';

/**
 * The page every dashboard path answers with once signed in: the front end (`/assets/main.js`) draws the page the
 * path names. The session's CSRF token and user are handed to it in `<meta>` tags.
 */
export function shellPage(user: string, csrfToken: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${escapeHtml(csrfToken)}">
<meta name="swarmlet-user" content="${escapeHtml(user)}">
<title>Swarmlet</title>
<link rel="stylesheet" href="/assets/style.css">
<script type="importmap">${IMPORT_MAP}</script>
<script type="module" src="/assets/main.js"></script>
</head>
<body>
<div id="root"><p class="muted">Loading…</p></div>
</body>
</html>
`;
}
