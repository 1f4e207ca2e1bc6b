// The platform registry: repositories with their disk use, tags with digests and sizes, and deleting a tag.
import { useEffect, useState } from 'preact/hooks';
import { ErrorLine, getJson, html, send, size } from '../ui.js';

export function RegistryPage() {
  const [repositories, setRepositories] = useState(undefined);
  const [error, setError] = useState(undefined);
  const [asked, setAsked] = useState(undefined);
  const [note, setNote] = useState('');
  const load = () => getJson('/registry').then((body) => setRepositories(body.repositories), setError);
  useEffect(() => {
    void load();
  }, []);
  const remove = async (repository, tag) => {
    setAsked(undefined);
    try {
      await send('DELETE', `/registry/${encodeURIComponent(repository)}/tags/${encodeURIComponent(tag)}`);
      setNote(`Deleted ${repository}:${tag}.`);
      setError(undefined);
      await load();
    } catch (failure) {
      setError(failure);
    }
  };
  const total = (repositories ?? []).reduce((sum, repository) => sum + repository.diskBytes, 0);
  return html`<section>
    <h1>Registry</h1>
    <${ErrorLine} error=${error} />
    ${note ? html`<p class="note" role="status">${note}</p>` : ''}
    ${
      repositories === undefined
        ? html`<p class="muted">Loading…</p>`
        : html`<p class="muted">
              ${repositories.length} repositories, ${size(total)} on disk (blobs shared between repositories are counted
              in each).
            </p>
            ${repositories.map(
              (repository) =>
                html`<article class="card" data-repository=${repository.name}>
                  <h2>${repository.name} <span class="muted">${size(repository.diskBytes)}</span></h2>
                  ${
                    repository.tags.length === 0
                      ? html`<p class="muted">No tag.</p>`
                      : html`<div class="table">
                          <table>
                            <thead>
                              <tr>
                                <th>Tag</th>
                                <th>Size</th>
                                <th>Digest</th>
                                <th></th>
                              </tr>
                            </thead>
                            <tbody>
                              ${repository.tags.map((tag) => {
                                const key = `${repository.name}:${tag.tag}`;
                                return html`<tr data-tag=${tag.tag}>
                                  <td><code>${tag.tag}</code></td>
                                  <td>${size(tag.size)}</td>
                                  <td><code class="digest" title=${tag.digest}>${tag.digest.slice(0, 19)}…</code></td>
                                  <td>
                                    ${
                                      asked === key
                                        ? html`<button
                                              type="button"
                                              class="danger"
                                              onClick=${() => void remove(repository.name, tag.tag)}
                                            >
                                              Really delete ${tag.tag}
                                            </button>
                                            <button type="button" class="quiet" onClick=${() => setAsked(undefined)}>
                                              Keep
                                            </button>`
                                        : html`<button type="button" class="quiet" onClick=${() => setAsked(key)}>
                                            Delete
                                          </button>`
                                    }
                                  </td>
                                </tr>`;
                              })}
                            </tbody>
                          </table>
                        </div>`
                  }
                </article>`,
            )}`
    }
  </section>`;
}
