import type { AppDomain, AppStatus, AppSummary } from '../app-operations.js';
import type { CancelOutcome } from '../deployer.js';
import type { LogLine } from '../docker/service-logs.js';
import type { DeployRecord } from '../history.js';

/** Lays rows out as columns separated by two spaces, the first row a header; trailing spaces trimmed. */
export function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, index) => (widths[index] = Math.max(widths[index] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, index) => cell.padEnd(widths[index] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

/** `2026-11-30T20:11:05.123Z` as `2026-11-30 20:11:05`; `-` for nothing. */
export function shortTime(iso: string | undefined): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '-';
}

/** How long ago `iso` was, from `now`: `45s`, `12m`, `3h`, `2d`. */
export function age(iso: string, now: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));
  if (!Number.isFinite(seconds)) return '-';
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}

/** The `apps` table. */
export function renderApps(apps: AppSummary[]): string[] {
  if (apps.length === 0) return ['no apps yet: git push one (git push swarmlet master)'];
  return table([
    ['APP', 'SERVICES', 'COMMIT', 'BRANCH', 'DEPLOYED', 'LAST', 'URLS'],
    ...apps.map((app) => [
      app.core ? `${app.app} (core)` : app.app,
      `${app.running}/${app.desired}`,
      app.deployed?.commit.slice(0, 12) ?? '-',
      app.deployed?.branch ?? '-',
      shortTime(app.deployed?.at),
      app.deploying ? 'deploying' : (app.lastOutcome ?? '-'),
      app.urls.join(' '),
    ]),
  ]);
}

/** The `status APP` report: the app, its services, then each service's tasks. */
export function renderStatus(status: AppStatus, now: Date): string[] {
  const deployed = status.deployed;
  const lines = [
    `app        ${status.app}${status.core ? ' (core)' : ''}`,
    `deployed   ${deployed ? `${deployed.commit.slice(0, 12)} (${deployed.branch}) at ${shortTime(deployed.at)}, deploy ${deployed.id}` : 'nothing yet'}`,
    `policy     ${status.policy === 'trusted' ? `trusted${status.core ? ' (core app)' : ''}` : 'untrusted (compose policy applies)'}`,
    `deploying  ${status.deploying ? `deploy ${status.deploying.id} of ${status.deploying.commit.slice(0, 12)} since ${shortTime(status.deploying.startedAt)} (${status.deploying.trigger ?? 'push'})${status.deploying.step ? `, at ${status.deploying.step}` : ''}` : 'no'}`,
  ];
  const last = status.lastDeploy;
  if (last) {
    lines.push(
      `last       deploy ${last.id} of ${last.commit.slice(0, 12)} ${outcome(last)}${last.error ? `: ${last.error}` : ''}`,
    );
  }
  if (status.urls.length > 0) lines.push(`urls       ${status.urls.join(' ')}`);
  if (status.services.length === 0) return [...lines, '', 'no service runs'];
  lines.push(
    '',
    ...table([
      ['SERVICE', 'IMAGE', 'REPLICAS', 'SCALE'],
      ...status.services.map((service) => [
        service.service,
        service.image,
        `${service.running}/${service.desired}${service.mode === 'global' ? ' (global)' : ''}`,
        service.scaleOverride === undefined ? 'compose file' : `${service.scaleOverride} (scale override)`,
      ]),
    ]),
    '',
    ...table([
      ['TASK', 'NODE', 'STATE', 'SINCE', 'ERROR'],
      ...status.services.flatMap((service) =>
        service.tasks.map((task) => [
          task.name,
          task.node,
          task.desiredState === task.state ? task.state : `${task.state} (-> ${task.desiredState})`,
          task.since ? age(task.since, now) : '-',
          task.error ?? '',
        ]),
      ),
    ]),
  );
  return lines;
}

/** The `domains APP` table: each host with the service it reaches and where the route comes from. */
export function renderDomains(app: string, domains: AppDomain[]): string[] {
  if (domains.length === 0) return [`no host routes to ${app}: \`domains add ${app} HOST\` adds one`];
  return table([
    ['HOST', 'SERVICE', 'SOURCE'],
    ...domains.map((domain) => [
      domain.host,
      `${domain.service ?? '(chosen at deploy)'}${domain.port === undefined ? '' : `:${domain.port}`}`,
      domain.source === 'compose' ? 'compose label' : 'domains add',
    ]),
  ]);
}

/** The `deploys APP` table, newest first. */
export function renderDeploys(deploys: DeployRecord[]): string[] {
  if (deploys.length === 0) return ['no deploy recorded'];
  return table([
    ['ID', 'COMMIT', 'BRANCH', 'STARTED', 'TRIGGER', 'BY', 'OUTCOME', 'STEPS'],
    ...deploys.map((deploy) => [
      deploy.id,
      deploy.commit.slice(0, 12),
      deploy.branch,
      shortTime(deploy.startedAt),
      deploy.rollbackOf ? `rollback to ${deploy.rollbackOf}` : (deploy.trigger ?? '-'),
      deploy.by ?? '-',
      outcome(deploy),
      deploy.steps.map((step) => `${step.step} ${(step.ms / 1000).toFixed(1)}s`).join(', '),
    ]),
  ]);
}

/** One deploy's record, then its resolved compose file and its log. */
export function renderDeploy(deploy: DeployRecord, log: string): string[] {
  const lines = [
    `id         ${deploy.id}`,
    `commit     ${deploy.commit} (${deploy.branch})`,
    `trigger    ${deploy.trigger ?? '-'}${deploy.rollbackOf ? ` (rollback to ${deploy.rollbackOf})` : ''}`,
    `by         ${deploy.by ?? '-'}`,
    `started    ${shortTime(deploy.startedAt)}`,
    `finished   ${shortTime(deploy.finishedAt)}`,
    ...(deploy.interruptedAt ? [`last seen  ${shortTime(deploy.interruptedAt)} (the agent stopped after this)`] : []),
    `outcome    ${outcome(deploy)}${deploy.error ? `: ${deploy.error}` : ''}`,
    `steps      ${deploy.steps.map((step) => `${step.step} ${(step.ms / 1000).toFixed(1)}s`).join(', ') || '-'}`,
    ...deploy.images.map((image) => `image      ${image.service}: ${image.reference}@${image.digest}`),
    ...(deploy.urls ?? []).map((url) => `url        ${url}`),
  ];
  if (deploy.resolvedCompose)
    lines.push('', 'compose file as deployed (config values masked):', ...deploy.resolvedCompose.trimEnd().split('\n'));
  return [...lines, '', 'log:', ...log.trimEnd().split('\n')];
}

/**
 * A deploy's outcome in a word or a few: its status, and for a deploy that was stopped or interrupted, the step
 * it was in and whether `docker stack deploy` had run (`interrupted at converge, after stack deploy`).
 */
export function outcome(deploy: Pick<DeployRecord, 'status' | 'step' | 'stackDeployedAt'>): string {
  if (!['timed-out', 'cancelled', 'interrupted'].includes(deploy.status) || !deploy.step) return deploy.status;
  return `${deploy.status} at ${deploy.step}${deploy.stackDeployedAt ? ', after stack deploy' : ''}`;
}

/** The answer of `cancel APP`: what was stopped, or that nothing ran. */
export function renderCancel(answer: CancelOutcome): string[] {
  const lines: string[] = [];
  const deploy = answer.cancelled;
  if (deploy) {
    const which = `deploy ${deploy.id} of ${answer.app} (commit ${deploy.commit.slice(0, 12)}, ${deploy.trigger ?? 'push'}${deploy.by ? ` by ${deploy.by}` : ''})`;
    lines.push(
      deploy.status === 'cancelled'
        ? `cancelled ${which}: ${outcome(deploy)}`
        : `${which} ended before the cancel reached it: ${outcome(deploy)}`,
    );
    if (deploy.error) lines.push(deploy.error);
  }
  if (answer.stoppedChange) lines.push(`stopped the change of ${answer.app} that was running (scale, restart)`);
  if (answer.dropped) lines.push(`dropped a request that waited for its turn to deploy ${answer.app}`);
  return lines.length ? lines : [`nothing to cancel: no deploy of ${answer.app} runs or waits`];
}

/** One line of `logs`, prefixed as `docker compose logs` does: the task, padded, and `|`. */
export function renderLogLine(line: LogLine, timestamps: boolean, width: number): string {
  return `${line.task.padEnd(width)} | ${timestamps ? `${line.time} ` : ''}${line.text}`;
}
