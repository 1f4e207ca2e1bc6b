// The SSH keys that may push and run commands: list, add (admin, or deployer of named apps), remove.
import { useEffect, useState } from 'preact/hooks';
import { ErrorLine, getJson, html, send } from '../ui.js';

export function KeysPage() {
  const [keys, setKeys] = useState(undefined);
  const [problems, setProblems] = useState([]);
  const [error, setError] = useState(undefined);
  const [note, setNote] = useState('');
  const [asked, setAsked] = useState(undefined);
  const [form, setForm] = useState({ key: '', comment: '', role: 'deployer', apps: '' });
  const load = () =>
    getJson('/keys').then((body) => {
      setKeys(body.keys);
      setProblems(body.problems);
    }, setError);
  useEffect(() => {
    void load();
  }, []);
  const change = async (work) => {
    try {
      setNote(await work());
      setError(undefined);
      await load();
    } catch (failure) {
      setError(failure);
    }
  };
  const add = (event) => {
    event.preventDefault();
    const apps = form.apps.split(/[\s,]+/).filter(Boolean);
    void change(async () => {
      const body = {
        key: form.key,
        role: form.role,
        ...(form.comment && { comment: form.comment }),
        ...(form.role === 'deployer' && { apps }),
      };
      const answer = await (await send('POST', '/keys', body)).json();
      setForm({ key: '', comment: '', role: 'deployer', apps: '' });
      return answer.added;
    });
  };
  const remove = (fingerprint) => {
    setAsked(undefined);
    void change(async () => (await (await send('DELETE', `/keys/${encodeURIComponent(fingerprint)}`)).json()).removed);
  };
  const field = (name) => (event) => setForm({ ...form, [name]: event.currentTarget.value });
  return html`<section>
    <h1>Keys</h1>
    <${ErrorLine} error=${error} />
    ${note ? html`<p class="note" role="status">${note}</p>` : ''}
    ${problems.map((problem) => html`<p class="error">${problem}</p>`)}
    ${
      keys === undefined
        ? html`<p class="muted">Loading…</p>`
        : html`<div class="table">
            <table>
              <thead>
                <tr>
                  <th>Comment</th>
                  <th>Role</th>
                  <th>Type</th>
                  <th>Fingerprint</th>
                  <th></th>
                </tr>
              </thead>
              <tbody>
                ${keys.map(
                  (key) =>
                    html`<tr data-key=${key.comment}>
                      <td>${key.comment}</td>
                      <td>${key.role === 'admin' ? 'admin' : `deployer of ${key.apps.join(', ')}`}</td>
                      <td>${key.type}</td>
                      <td><code class="digest">${key.fingerprint}</code></td>
                      <td>
                        ${
                          asked === key.fingerprint
                            ? html`<button type="button" class="danger" onClick=${() => remove(key.fingerprint)}>
                                  Really remove
                                </button>
                                <button type="button" class="quiet" onClick=${() => setAsked(undefined)}>Keep</button>`
                            : html`<button type="button" class="quiet" onClick=${() => setAsked(key.fingerprint)}>
                                Remove
                              </button>`
                        }
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
    }
    <form class="card stack" onSubmit=${add}>
      <h2>Add a key</h2>
      <label
        >Public key <textarea name="key" rows="3" required value=${form.key} onInput=${field('key')}></textarea>
      </label>
      <div class="row">
        <label>Comment <input name="comment" value=${form.comment} onInput=${field('comment')} /></label>
        <label
          >Role
          <select name="role" value=${form.role} onChange=${field('role')}>
            <option value="deployer">deployer of named apps</option>
            <option value="admin">admin (everything)</option>
          </select></label
        >
        ${
          form.role === 'deployer'
            ? html`<label
                >Apps <input name="apps" value=${form.apps} onInput=${field('apps')} placeholder="shop, blog"
              /></label>`
            : ''
        }
        <button type="submit">Add key</button>
      </div>
    </form>
  </section>`;
}
