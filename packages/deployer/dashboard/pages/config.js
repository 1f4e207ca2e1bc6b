// An app's config: values masked until revealed one by one, set and unset with or without a deploy.
import { useEffect, useState } from 'preact/hooks';
import { ErrorLine, getJson, html } from '../ui.js';

export function ConfigEditor({ app, act, busy }) {
  const [keys, setKeys] = useState(undefined);
  const [revealed, setRevealed] = useState({});
  const [error, setError] = useState(undefined);
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [deploy, setDeploy] = useState(true);
  const load = () => getJson(`/apps/${app}/config`).then((body) => setKeys(Object.keys(body.config)), setError);
  useEffect(() => {
    void load();
  }, [app, busy]);
  const reveal = (name) =>
    getJson(`/apps/${app}/config/${encodeURIComponent(name)}`).then(
      (body) => setRevealed({ ...revealed, [name]: body.value }),
      setError,
    );
  const change = async (title, body) => {
    await act(title, 'POST', `/apps/${app}/config`, { ...body, deploy });
    setRevealed({});
  };
  return html`<article class="card">
    <h2>Config</h2>
    <${ErrorLine} error=${error} />
    ${
      keys === undefined
        ? html`<p class="muted">Loading…</p>`
        : keys.length === 0
          ? html`<p class="muted">No config set.</p>`
          : html`<div class="table">
              <table>
                <thead>
                  <tr>
                    <th>Key</th>
                    <th>Value</th>
                    <th></th>
                  </tr>
                </thead>
                <tbody>
                  ${keys.map(
                    (name) =>
                      html`<tr data-config-key=${name}>
                        <td><code>${name}</code></td>
                        <td>
                          ${name in revealed ? html`<code class="value">${revealed[name]}</code>` : html`<span class="masked" aria-label="hidden value">••••••••</span>`}
                        </td>
                        <td>
                          ${
                            name in revealed
                              ? html`<button
                                  type="button"
                                  class="quiet"
                                  onClick=${() => setRevealed(Object.fromEntries(Object.entries(revealed).filter(([other]) => other !== name)))}
                                >
                                  Hide
                                </button>`
                              : html`<button type="button" class="quiet" onClick=${() => void reveal(name)}>
                                  Reveal
                                </button>`
                          }
                          <button
                            type="button"
                            class="quiet"
                            disabled=${busy}
                            onClick=${() => void change(`Unset ${name}`, { unset: [name] })}
                          >
                            Unset
                          </button>
                        </td>
                      </tr>`,
                  )}
                </tbody>
              </table>
            </div>`
    }
    <form
      class="row"
      onSubmit=${(event) => {
        event.preventDefault();
        void change(`Set ${key}`, { set: { [key]: value } }).then(() => {
          setKey('');
          setValue('');
        });
      }}
    >
      <label
        >Key
        <input
          name="config-key"
          value=${key}
          required
          pattern="[A-Za-z_][A-Za-z0-9_]*"
          autocomplete="off"
          onInput=${(event) => setKey(event.currentTarget.value)}
      /></label>
      <label
        >Value
        <input
          name="config-value"
          type="password"
          value=${value}
          autocomplete="off"
          onInput=${(event) => setValue(event.currentTarget.value)}
      /></label>
      <label class="check"
        ><input
          type="checkbox"
          name="config-deploy"
          checked=${deploy}
          onChange=${(event) => setDeploy(event.currentTarget.checked)}
        />
        deploy now</label
      >
      <button type="submit" disabled=${busy || key === ''}>Set</button>
    </form>
  </article>`;
}
