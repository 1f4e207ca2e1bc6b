// A chart of deploy durations by step: one horizontal bar per deploy (oldest at the bottom), split into its steps.
import { html } from '../ui.js';

const COLOURS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#9c755f'];

export function DeployChart({ deploys }) {
  const shown = deploys.filter((deploy) => deploy.steps.length > 0).slice(0, 15);
  if (shown.length === 0) return null;
  const names = [...new Set(shown.flatMap((deploy) => deploy.steps.map((step) => step.step)))];
  const longest = Math.max(1, ...shown.map((deploy) => deploy.steps.reduce((sum, step) => sum + step.ms, 0)));
  const row = 18;
  const label = 120;
  const width = 600;
  const scale = (ms) => (ms / longest) * (width - label - 60);
  return html`<figure class="chart">
    <svg viewBox=${`0 0 ${width} ${shown.length * row + 4}`} role="img" aria-label="Deploy durations by step">
      ${shown.map((deploy, index) => {
        let x = label;
        const total = deploy.steps.reduce((sum, step) => sum + step.ms, 0);
        return html`<g>
          <text x="0" y=${index * row + 13} class="axis">${deploy.id.slice(9, 15)} ${deploy.commit.slice(0, 7)}</text>
          ${deploy.steps.map((step) => {
            const bar = html`<rect
              x=${x}
              y=${index * row + 2}
              width=${Math.max(1, scale(step.ms))}
              height=${row - 4}
              fill=${COLOURS[names.indexOf(step.step) % COLOURS.length]}
              ><title>${step.step}: ${step.ms} ms</title></rect
            >`;
            x += scale(step.ms);
            return bar;
          })}
          <text x=${x + 4} y=${index * row + 13} class="axis">${(total / 1000).toFixed(1)} s</text>
        </g>`;
      })}
    </svg>
    <figcaption>
      ${names.map(
        (name, index) =>
          html`<span class="key"
            ><svg width="10" height="10" aria-hidden="true">
              <rect width="10" height="10" fill=${COLOURS[index % COLOURS.length]} />
            </svg>
            ${name}</span
          > `,
      )}
    </figcaption>
  </figure>`;
}
