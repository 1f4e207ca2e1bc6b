// The apps overview: every app's state, replicas, deployed commit, last deploy and URLs, refreshed every 5 s.
import { useEffect, useState } from 'preact/hooks';
import { ago, ErrorLine, getJson, html, Link } from '../ui.js';

export function AppsPage() {
  const [apps, setApps] = useState(undefined);
  const [error, setError] = useState(undefined);
  useEffect(() => {
    let live = true;
    const load = () =>
      getJson('/apps').then(
        (body) => live && (setApps(body.apps), setError(undefined)),
        (failure) => live && setError(failure),
      );
    void load();
    const timer = setInterval(load, 5000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);
  return html`<section>
    <h1>Apps</h1>
    <${ErrorLine} error=${error} />
    ${
      apps === undefined
        ? html`<p class="muted">Loading…</p>`
        : apps.length === 0
          ? html`<p>No app yet: <code>git push</code> one to this platform.</p>`
          : html`<div class="table">
              <table>
                <thead>
                  <tr>
                    <th>App</th>
                    <th>State</th>
                    <th>Replicas</th>
                    <th>Commit</th>
                    <th>Last deploy</th>
                    <th>URLs</th>
                  </tr>
                </thead>
                <tbody>
                  ${apps.map(
                    (app) => html`<tr>
                <td><${Link} href=${`/apps/${app.app}`}>${app.app}</${Link}>${app.core ? html` <span class="tag">core</span>` : ''}</td>
                <td>${state(app)}</td>
                <td>${app.running}/${app.desired}</td>
                <td><code>${app.deployed?.commit.slice(0, 12) ?? '—'}</code> ${app.deployed?.branch ?? ''}</td>
                <td>${app.lastOutcome ? html`<span class=${`status ${app.lastOutcome}`}>${app.lastOutcome}</span>` : '—'}
                  ${app.deployed ? html` <span class="muted">${ago(app.deployed.at)}</span>` : ''}</td>
                <td>${app.urls.map((url) => html`<a href=${url} rel="noreferrer">${url}</a> `)}</td>
              </tr>`,
                  )}
                </tbody>
              </table>
            </div>`
    }
  </section>`;
}

function state(app) {
  if (app.deploying)
    return html`<span class="status running">deploying${app.deploying.step ? ` (${app.deploying.step})` : ''}</span>`;
  if (app.desired === 0) return html`<span class="status">stopped</span>`;
  return app.running >= app.desired
    ? html`<span class="status succeeded">running</span>`
    : html`<span class="status failed">degraded</span>`;
}
