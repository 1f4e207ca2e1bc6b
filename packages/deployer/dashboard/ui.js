// Shared pieces of the dashboard's pages: the htm tag bound to Preact, the API client and small formatters.
import { h } from 'preact';
import htm from 'htm';

/** Tagged template that builds Preact elements: html`<p>${text}</p>`. */
export const html = htm.bind(h);

const csrfToken = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';

/** The signed-in user, as the page was given it. */
export const user = document.querySelector('meta[name="swarmlet-user"]')?.getAttribute('content') ?? '';

function signInAgain() {
  location.assign(`/signin?next=${encodeURIComponent(location.pathname)}`);
}

async function failure(response) {
  if (response.status === 401) signInAgain();
  const body = await response.json().catch(() => ({}));
  return new Error(body.error ?? `HTTP ${response.status}`);
}

/** GETs `/api/v1<path>` as JSON; rejects with the API's error message. */
export async function getJson(path) {
  const response = await fetch(`/api/v1${path}`, { headers: { Accept: 'application/json' } });
  if (!response.ok) throw await failure(response);
  return response.json();
}

/** Sends a changing request to `/api/v1<path>` with the session's CSRF token; resolves with the response. */
export async function send(method, path, body, signal) {
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  if (!response.ok) throw await failure(response);
  return response;
}

/** Ends the session, then shows the sign-in page. */
export async function signOut() {
  await fetch('/signout', { method: 'POST', headers: { 'X-CSRF-Token': csrfToken } });
  location.assign('/signin');
}

/** Reads an NDJSON response body, calling `onEvent` with each parsed line as it arrives. */
export async function readNdjson(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let pending = '';
  for (;;) {
    const { done, value } = await reader.read();
    pending += decoder.decode(value ?? new Uint8Array(), { stream: !done });
    const lines = pending.split('\n');
    pending = done ? '' : (lines.pop() ?? '');
    for (const line of lines) if (line.trim() !== '') onEvent(JSON.parse(line));
    if (done) return;
  }
}

/**
 * Runs a day-2 action whose answer is a deploy stream (redeploy, rollback, config, scale, restart, destroy):
 * hands each log line to `onLine` and resolves with the result event.
 */
export async function runAction(method, path, body, onLine) {
  const response = await send(method, path, body);
  let result = { ok: false, status: 'failed', error: 'the agent closed the answer early' };
  await readNdjson(response, (event) => {
    if (event.type === 'log') onLine(event.line);
    else if (event.type === 'result') result = event;
  });
  return result;
}

/** `12 s`, `3 min`, `2 h` ago from an ISO time. */
export function ago(iso) {
  if (!iso) return '';
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 90) return `${seconds} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

/** Milliseconds as `850 ms`, `12.3 s` or `2 min 5 s`. */
export function duration(ms) {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
}

/** Bytes as `512 B`, `1.5 MiB`, … */
export function size(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** A link to another page of the dashboard, followed without reloading. */
export function Link({ href, children, class: className }) {
  const go = (event) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    history.pushState(null, '', href);
    dispatchEvent(new PopStateEvent('popstate'));
  };
  return html`<a href=${href} class=${className} onClick=${go}>${children}</a>`;
}

/** An error message, or nothing. */
export function ErrorLine({ error }) {
  return error ? html`<p class="error" role="alert">${String(error.message ?? error)}</p>` : null;
}
