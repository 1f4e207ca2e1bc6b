// One app: its services and tasks per node, live deploys, deploy history with a chart of step durations, any
// deploy's log, the day-2 actions, the config editor and the app's logs from every node.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ago, duration, ErrorLine, getJson, html, readNdjson, runAction } from '../ui.js';
import { ConfigEditor } from './config.js';
import { DeployChart } from './chart.js';

export function AppPage({ app }) {
  const [status, setStatus] = useState(undefined);
  const [deploys, setDeploys] = useState([]);
  const [error, setError] = useState(undefined);
  const [live, setLive] = useState(undefined);
  const [output, setOutput] = useState(undefined);
  const [busy, setBusy] = useState(false);
  const acting = useRef(false);
  const refresh = () =>
    Promise.all([getJson(`/apps/${app}`), getJson(`/apps/${app}/deploys`)]).then(([state, history]) => {
      setStatus(state);
      setDeploys(history.deploys);
    }, setError);

  useEffect(() => {
    void refresh();
    const events = new EventSource(`/api/v1/apps/${app}/events`);
    events.addEventListener('snapshot', (event) => {
      const running = JSON.parse(event.data).running;
      if (running) setLive({ deploy: running.deploy, lines: running.lines, dropped: running.dropped });
    });
    events.addEventListener('started', (event) => {
      setLive({ deploy: JSON.parse(event.data).deploy, lines: [], dropped: 0 });
      void refresh();
    });
    events.addEventListener('line', (event) => {
      const { id, line } = JSON.parse(event.data);
      setLive((current) => (current?.deploy.id === id ? { ...current, lines: [...current.lines, line] } : current));
    });
    events.addEventListener('finished', (event) => {
      const { id, status: ended } = JSON.parse(event.data);
      setLive((current) => (current?.deploy.id === id ? { ...current, ended } : current));
      void refresh();
    });
    events.addEventListener('error', () => {
      // closed for good (a 401 once the session ended, say): reading the app again tells why, or signs in again
      if (events.readyState === EventSource.CLOSED) void refresh();
    });
    const timer = setInterval(() => {
      if (!acting.current) void refresh();
    }, 10000);
    return () => {
      events.close();
      clearInterval(timer);
    };
  }, [app]);

  const act = async (title, method, path, body) => {
    acting.current = true;
    setBusy(true);
    const lines = [];
    setOutput({ title, lines: [] });
    try {
      const result = await runAction(method, path, body, (line) => {
        lines.push(line);
        setOutput({ title, lines: [...lines] });
      });
      setOutput({ title, lines: [...lines], result });
      if (method === 'DELETE' && result.ok) {
        location.assign('/');
        return;
      }
    } catch (failure) {
      setOutput({ title, lines, result: { ok: false, error: failure.message } });
    }
    acting.current = false;
    setBusy(false);
    void refresh();
  };

  if (error && !status)
    return html`<section>
      <h1>${app}</h1>
      <${ErrorLine} error=${error} />
    </section>`;
  if (!status)
    return html`<section>
      <h1>${app}</h1>
      <p class="muted">Loading…</p>
    </section>`;
  return html`<section class="app">
    <h1>${app} ${status.core ? html`<span class="tag">core</span>` : ''}</h1>
    <${Summary} status=${status} />
    <${LiveDeploy} live=${live} />
    <${Actions} app=${app} status=${status} deploys=${deploys} busy=${busy} act=${act} />
    ${output ? html`<${Output} output=${output} />` : ''}
    <${Services} status=${status} />
    <${History} app=${app} deploys=${deploys} />
    <${ConfigEditor} app=${app} act=${act} busy=${busy} />
    <${Logs} app=${app} services=${status.services.map((service) => service.service)} />
  </section>`;
}

function Summary({ status }) {
  return html`<dl class="facts">
    <dt>Replicas</dt>
    <dd>${status.running}/${status.desired}</dd>
    <dt>Deployed</dt>
    <dd>
      ${
        status.deployed
          ? html`<code class="deployed-commit">${status.deployed.commit.slice(0, 12)}</code>
              (${status.deployed.branch}), ${ago(status.deployed.at)}`
          : 'nothing yet'
      }
    </dd>
    <dt>Deploying</dt>
    <dd>${status.deploying ? `yes, ${status.deploying.step ?? 'waiting'}` : 'no'}</dd>
    <dt>Policy</dt>
    <dd>${status.policy}</dd>
    <dt>URLs</dt>
    <dd>
      ${status.urls.length === 0 ? '—' : status.urls.map((url) => html`<a href=${url} rel="noreferrer">${url}</a> `)}
    </dd>
    ${
      status.lastDeploy
        ? html`<dt>Last deploy</dt>
            <dd class="error">
              ${status.lastDeploy.status}${status.lastDeploy.error ? `: ${status.lastDeploy.error}` : ''}
            </dd>`
        : ''
    }
  </dl>`;
}

/** The deploy running now (or that just ended), whoever started it, its log streaming as the pusher sees it. */
function LiveDeploy({ live }) {
  const end = useRef(undefined);
  useEffect(() => end.current?.scrollIntoView({ block: 'nearest' }), [live?.lines.length]);
  if (!live) return null;
  return html`<article class="card live" aria-live="polite">
    <h2>
      Deploy ${live.deploy.id}
      <span class="muted">${live.deploy.trigger ?? ''} of ${live.deploy.commit.slice(0, 12)}</span>
      <span class=${`status ${live.ended ?? 'running'}`} data-live-status=${live.ended ?? 'running'}
        >${live.ended ?? 'running'}</span
      >
    </h2>
    ${live.dropped > 0 ? html`<p class="muted">${live.dropped} earlier lines are in the deploy's full log.</p>` : ''}
    <pre class="log" data-live-log>${live.lines.join('\n')}<span ref=${end}></span></pre>
  </article>`;
}

function Output({ output }) {
  const { result } = output;
  return html`<article class="card">
    <h2>
      ${output.title}
      ${result ? html`<span class=${`status ${result.ok ? 'succeeded' : 'failed'}`} data-action-status=${result.ok ? 'ok' : 'failed'}>${result.ok ? 'done' : (result.status ?? 'failed')}</span>` : html`<span class="status running">running</span>`}
    </h2>
    ${result?.error ? html`<p class="error">${result.error}</p>` : ''}
    ${output.lines.length > 0 ? html`<pre class="log">${output.lines.join('\n')}</pre>` : ''}
  </article>`;
}

function Actions({ app, status, deploys, busy, act }) {
  const kept = deploys.filter((deploy) => deploy.status === 'succeeded' && deploy.id !== status.deployed?.id);
  const [target, setTarget] = useState('');
  const [confirm, setConfirm] = useState('');
  const [replicas, setReplicas] = useState({});
  const scale = Object.fromEntries(Object.entries(replicas).filter(([, value]) => value !== ''));
  return html`<article class="card">
    <h2>Actions</h2>
    <div class="row">
      <button type="button" disabled=${busy} onClick=${() => void act('Redeploy', 'POST', `/apps/${app}/redeploy`)}>
        Redeploy
      </button>
      <button type="button" disabled=${busy} onClick=${() => void act('Restart', 'POST', `/apps/${app}/restart`, {})}>
        Restart
      </button>
    </div>
    <form
      class="row"
      onSubmit=${(event) => {
        event.preventDefault();
        void act('Rollback', 'POST', `/apps/${app}/rollback`, target ? { deploy: target } : {});
      }}
    >
      <label
        >Roll back to
        <select value=${target} onChange=${(event) => setTarget(event.currentTarget.value)} name="rollback-target">
          <option value="">the previous version</option>
          ${kept.map((deploy) => html`<option value=${deploy.id}>${deploy.id} · ${deploy.commit.slice(0, 12)}</option>`)}
        </select></label
      >
      <button type="submit" disabled=${busy}>Roll back</button>
    </form>
    <form
      class="row"
      onSubmit=${(event) => {
        event.preventDefault();
        void act('Scale', 'POST', `/apps/${app}/scale`, {
          scale: Object.fromEntries(Object.entries(scale).map(([key, value]) => [key, Number(value)])),
        });
      }}
    >
      ${status.services.map(
        (service) =>
          html`<label
            >${service.service}
            <input
              type="number"
              min="0"
              max="100"
              class="narrow"
              placeholder=${String(service.desired)}
              name=${`scale-${service.service}`}
              value=${replicas[service.service] ?? ''}
              onInput=${(event) => setReplicas({ ...replicas, [service.service]: event.currentTarget.value })}
          /></label>`,
      )}
      <button type="submit" disabled=${busy || Object.keys(scale).length === 0}>Scale</button>
    </form>
    <form
      class="row danger-zone"
      onSubmit=${(event) => {
        event.preventDefault();
        void act('Destroy', 'DELETE', `/apps/${app}`, { confirm });
      }}
    >
      <label
        ><span>Type <code>${app}</code> to destroy it</span>
        <input
          value=${confirm}
          onInput=${(event) => setConfirm(event.currentTarget.value)}
          name="destroy-confirm"
          autocomplete="off"
      /></label>
      <button type="submit" class="danger" disabled=${busy || confirm !== app}>Destroy</button>
    </form>
  </article>`;
}

function Services({ status }) {
  return html`<article class="card">
    <h2>Services</h2>
    ${status.services.map(
      (service) =>
        html`<div class="service">
          <h3>${service.service} <span class="muted">${service.running}/${service.desired} · ${service.mode}</span></h3>
          <p class="muted"><code class="digest">${service.image}</code></p>
          <div class="table">
            <table>
              <thead>
                <tr>
                  <th>Task</th>
                  <th>Node</th>
                  <th>State</th>
                  <th>Since</th>
                  <th>Error</th>
                </tr>
              </thead>
              <tbody>
                ${service.tasks.map(
                  (task) =>
                    html`<tr>
                      <td>${task.name}</td>
                      <td>${task.node}</td>
                      <td>
                        <span class=${`status ${task.state === 'running' ? 'succeeded' : task.error ? 'failed' : ''}`}
                          >${task.state}</span
                        >
                      </td>
                      <td>${ago(task.since)}</td>
                      <td class="error">${task.error ?? ''}</td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>
        </div>`,
    )}
  </article>`;
}

function History({ app, deploys }) {
  const [shown, setShown] = useState(undefined);
  const [error, setError] = useState(undefined);
  const open = (id) => getJson(`/apps/${app}/deploys/${id}`).then((body) => setShown({ id, log: body.log }), setError);
  return html`<article class="card">
    <h2>Deploys</h2>
    <${DeployChart} deploys=${deploys} />
    <div class="table">
      <table>
        <thead>
          <tr>
            <th>Deploy</th>
            <th>Commit</th>
            <th>Trigger</th>
            <th>Status</th>
            <th>Started</th>
            <th>Took</th>
            <th>Steps</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          ${deploys.map(
            (deploy) =>
              html`<tr>
                <td><code>${deploy.id}</code></td>
                <td><code>${deploy.commit.slice(0, 12)}</code></td>
                <td>${deploy.trigger ?? ''}${deploy.by ? html` <span class="muted">by ${deploy.by}</span>` : ''}</td>
                <td><span class=${`status ${deploy.status}`}>${deploy.status}</span></td>
                <td>${ago(deploy.startedAt)}</td>
                <td>
                  ${deploy.finishedAt ? duration(Date.parse(deploy.finishedAt) - Date.parse(deploy.startedAt)) : ''}
                </td>
                <td class="steps">${deploy.steps.map((step) => `${step.step} ${duration(step.ms)}`).join(' · ')}</td>
                <td><button type="button" class="quiet" onClick=${() => void open(deploy.id)}>Log</button></td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>
    <${ErrorLine} error=${error} />
    ${
      shown
        ? html`<h3>Log of ${shown.id}</h3>
            <pre class="log" data-deploy-log=${shown.id}>${shown.log}</pre>`
        : ''
    }
  </article>`;
}

/** The app's logs from every node: the last lines, then following new ones, optionally of one service. */
function Logs({ app, services }) {
  const [service, setService] = useState('');
  const [lines, setLines] = useState([]);
  const [following, setFollowing] = useState(undefined);
  const [error, setError] = useState(undefined);
  useEffect(() => () => following?.abort(), [following]);
  const follow = async () => {
    following?.abort();
    const stop = new AbortController();
    setFollowing(stop);
    setLines([]);
    setError(undefined);
    const kept = [];
    const query = new URLSearchParams({ follow: '1', tail: '100', ...(service && { service }) });
    try {
      const response = await fetch(`/api/v1/apps/${app}/logs?${query}`, { signal: stop.signal });
      if (!response.ok) throw new Error((await response.json()).error);
      await readNdjson(response, (event) => {
        if (event.type === 'line') {
          kept.push(`${event.task}@${event.node} ${event.text}`);
          if (kept.length > 2000) kept.shift();
          setLines([...kept]);
        } else if (event.type === 'error') setError(new Error(event.error));
      });
    } catch (failure) {
      if (failure.name !== 'AbortError') setError(failure);
    }
  };
  return html`<article class="card">
    <h2>Logs</h2>
    <div class="row">
      <label
        >Service
        <select value=${service} onChange=${(event) => setService(event.currentTarget.value)} name="log-service">
          <option value="">every service</option>
          ${services.map((name) => html`<option value=${name}>${name}</option>`)}
        </select></label
      >
      <button type="button" onClick=${() => void follow()}>${following ? 'Follow again' : 'Follow'}</button>
      ${
        following
          ? html`<button
              type="button"
              class="quiet"
              onClick=${() => {
                following.abort();
                setFollowing(undefined);
              }}
            >
              Stop
            </button>`
          : ''
      }
    </div>
    <${ErrorLine} error=${error} />
    ${following || lines.length > 0 ? html`<pre class="log" data-app-log>${lines.join('\n')}</pre>` : ''}
  </article>`;
}
