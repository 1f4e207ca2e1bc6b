// The swarm's nodes: role, state, availability, labels and tasks.
import { useEffect, useState } from 'preact/hooks';
import { ErrorLine, getJson, html } from '../ui.js';

export function NodesPage() {
  const [nodes, setNodes] = useState(undefined);
  const [error, setError] = useState(undefined);
  useEffect(() => {
    getJson('/nodes').then((body) => setNodes(body.nodes), setError);
  }, []);
  return html`<section>
    <h1>Nodes</h1>
    <${ErrorLine} error=${error} />
    ${
      nodes === undefined
        ? html`<p class="muted">Loading…</p>`
        : html`<div class="table">
            <table>
              <thead>
                <tr>
                  <th>Node</th>
                  <th>Role</th>
                  <th>State</th>
                  <th>Availability</th>
                  <th>Address</th>
                  <th>Labels</th>
                  <th>Tasks</th>
                </tr>
              </thead>
              <tbody>
                ${nodes.map(
                  (node) =>
                    html`<tr>
                      <td>${node.hostname}</td>
                      <td>${node.role}${node.leader ? ' (leader)' : ''}</td>
                      <td>
                        <span class=${`status ${node.state === 'ready' ? 'succeeded' : 'failed'}`}>${node.state}</span>
                      </td>
                      <td>${node.availability}</td>
                      <td><code>${node.address}</code></td>
                      <td>
                        ${Object.entries(node.labels).map(([key, value]) => html`<span class="tag">${key}=${value}</span> `)}
                      </td>
                      <td>
                        ${node.runningTasks}${node.holds.length > 0 ? html` <span class="muted">(${node.holds.join(', ')})</span>` : ''}
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
    }
  </section>`;
}
