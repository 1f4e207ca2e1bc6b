import type { Logger } from '@swarmlet/common';
import type Docker from 'dockerode';
import { validateAppName } from './app-name.js';
import { AppSettingsStore } from './app-settings.js';
import { packBuildContext } from './build-context.js';
import { loadCompose } from './compose/load.js';
import { LIMIT_KEYS, resolveDeployLimits, type DeployLimits } from './deploy-limits.js';
import { cancelledBy, deadline, timeLimit, type Deadline } from './deploy-stop.js';
import { DeployFeed } from './deploy-feed.js';
import type { DeployResult } from './deploy-stream.js';
import { assembleEnvironment } from './environment/assemble.js';
import type { EntrypointUsers } from './environment/entrypoint-users.js';
import { DeployHistory, KEPT_PER_APP, type DeployRecord, type DeployTrigger } from './history.js';
import {
  platformLimits,
  runPipeline,
  type DeployRequest,
  type PipelineSettings,
  type ProjectSteps,
} from './pipeline.js';
import { DeployQueue } from './queue.js';
import { releaseDroppedImages } from './retention.js';

/** The deployer's settings beyond the pipeline's. */
export interface DeployerSettings extends PipelineSettings {
  /** Where the deploy history lives. */
  historyDir: string;
  /** How many deploys of each app the history keeps (`SWARMLET_HISTORY_LIMIT`; {@link KEPT_PER_APP} by default). */
  historyLimit?: number;
  /** Where the apps' settings (config, scale) live. */
  appSettingsDir: string;
  entrypointTimeoutMs: number;
  /** The users apps' entrypoints run as, confined; without it they run as this process's user. */
  entrypointUsers?: EntrypointUsers;
  /** How many apps may deploy at once. */
  concurrency: number;
}

/** Who or what asked for a deploy, as its record keeps it. */
export interface DeployOrigin {
  trigger: DeployTrigger;
  /** The SSH key (comment and fingerprint) or `the server`. */
  by?: string;
}

/** A deploy of an app that runs now. */
export interface RunningDeploy {
  id: string;
  commit: string;
  startedAt: string;
  trigger?: DeployTrigger;
  /** The step it is in. */
  step?: string;
}

/** What `cancel APP` did. */
export interface CancelOutcome {
  app: string;
  /** The deploy that ran and was stopped, as its record ended; undefined when no deploy ran. */
  cancelled?: DeployRecord;
  /** Whether another change held the app's turn (a scale, restart or destroy), told to stop and ended. */
  stoppedChange: boolean;
  /** Whether a request waiting for the app's turn was dropped. */
  dropped: boolean;
}

/** How often a running deploy renews its sign of life in the history. */
export const HEARTBEAT_MS = 10_000;

/** A `running` record without a sign of life for this long was left by a dead agent. */
export const STALE_AFTER_MS = 30_000;

/**
 * The deployer: runs deploys through the pipeline, one per app at a time (a newer request supersedes a queued
 * one), with the app's settings (config, scale) read when the deploy starts, records each in the history with its
 * full log, and deploys a recorded commit again with its images (redeploy, rollback). Every caller gets an answer,
 * and a deploy's answer is its outcome: a record or log that cannot be written afterwards (a full disk) is a
 * warning to the caller and to `log`, never a failure. Deploys that fall out of the kept history take their files,
 * registry tags and engine images with them (see {@link releaseDroppedImages}); what cannot be released is a
 * warning too.
 */
export class Deployer {
  /** The deploy history, read by the day-2 verbs. */
  readonly history: DeployHistory;
  /** The apps' config and scale overrides. */
  readonly appSettings: AppSettingsStore;
  /** Every deploy's start, log lines and end as they happen, for the dashboard's live view. */
  readonly feed = new DeployFeed();
  private readonly queue: DeployQueue<DeployResult>;
  private readonly project: ProjectSteps;
  private readonly running = new Map<string, RunningDeploy>();
  private recheck: NodeJS.Timeout | undefined;

  constructor(
    private readonly docker: Docker,
    private readonly settings: DeployerSettings,
    private readonly log?: Logger,
  ) {
    this.queue = new DeployQueue(settings.concurrency);
    this.history = new DeployHistory(settings.historyDir, settings.historyLimit ?? KEPT_PER_APP);
    this.appSettings = new AppSettingsStore(settings.appSettingsDir);
    this.project = {
      environment: (tree, platform, config, onLine) => {
        const users = settings.entrypointUsers;
        const runAs = users && (() => users.userFor(platform.app));
        return assembleEnvironment(tree, platform, { timeoutMs: settings.entrypointTimeoutMs, onLine, runAs }, config);
      },
      loadCompose,
      buildContext: packBuildContext,
    };
  }

  /** Deploys `request.commit` of the app, streaming its log to `onLine`. */
  async deploy(
    request: DeployRequest,
    onLine: (line: string) => void,
    origin: DeployOrigin = { trigger: 'push' },
  ): Promise<DeployResult> {
    validateAppName(request.app);
    return this.exclusive(request.app, onLine, (signal) => this.run(request, origin, onLine, signal));
  }

  /**
   * Deploys the app's deployed commit again with its images and the app's current settings: no build. Used by
   * `redeploy`, and by `config` and `scale` changes to apply them.
   */
  async redeploy(app: string, onLine: (line: string) => void, origin: DeployOrigin): Promise<DeployResult> {
    validateAppName(app);
    return this.exclusive(app, onLine, async (signal) => {
      const deployed = await this.deployed(app);
      if (!deployed?.repository) {
        return { ok: false, status: 'failed', error: `${app} has no successful deploy to deploy again: push it first` };
      }
      onLine(`-----> deploying ${app} again at ${deployed.commit.slice(0, 12)} (deploy ${deployed.id})`);
      return this.run(this.again(app, deployed), origin, onLine, signal);
    });
  }

  /**
   * Rolls the app back to deploy `deployId`, or when undefined to the newest successful deploy of another commit
   * than the deployed one: that commit with its images, and the app's current settings.
   */
  async rollback(
    app: string,
    deployId: string | undefined,
    onLine: (line: string) => void,
    by?: string,
  ): Promise<DeployResult> {
    validateAppName(app);
    return this.exclusive(app, onLine, async (signal) => {
      const target = await this.rollbackTarget(app, deployId);
      if (typeof target === 'string') return { ok: false, status: 'failed', error: target };
      onLine(`-----> rolling ${app} back to deploy ${target.id} (commit ${target.commit.slice(0, 12)})`);
      const origin: DeployOrigin = { trigger: 'rollback', ...(by && { by }) };
      return this.run(this.again(app, target), origin, onLine, signal, target.id);
    });
  }

  /**
   * Runs `job` in the app's turn: after the deploy that runs or waits (saying so on `onLine`), like a push. The
   * job's signal aborts when `cancel APP` stops it (its reason is a `DeployStopped`); the job must then end soon.
   * Resolves `superseded` when a newer request for the app took the job's place before it started, `cancelled`
   * when `cancel APP` dropped it then.
   */
  async exclusive(
    app: string,
    onLine: (line: string) => void,
    job: (signal: AbortSignal) => Promise<DeployResult>,
  ): Promise<DeployResult> {
    if (this.queue.busy(app)) onLine(`another deploy of ${app} is under way: waiting for it to finish`);
    const answer = await this.queue.run(app, job);
    if (answer.status === 'superseded') {
      onLine('superseded by a newer deploy of this app: nothing deployed');
      return { ok: false, status: 'superseded' };
    }
    if (answer.status === 'cancelled') {
      onLine('cancelled (`cancel`) before it started: nothing deployed');
      return { ok: false, status: 'cancelled', error: 'cancelled before it started: nothing deployed' };
    }
    return answer.value;
  }

  /**
   * `cancel APP`: stops what holds the app's turn as a time limit would (a running deploy is stopped in its step
   * and, past `docker stack deploy`, rolled back; see `runPipeline`) and drops a request waiting for the turn.
   * Resolves once the stopped work has ended and the turn is free, with what was stopped.
   */
  async cancel(app: string, by?: string): Promise<CancelOutcome> {
    validateAppName(app);
    const deploy = this.running.get(app);
    const { running, dropped } = this.queue.cancel(app, cancelledBy(app, by));
    await running;
    const cancelled = deploy && (await this.history.get(app, deploy.id));
    return {
      app,
      ...(cancelled && { cancelled }),
      stoppedChange: running !== undefined && deploy === undefined,
      dropped,
    };
  }

  /**
   * Closes the deploy records a dead agent left `running` (see `DeployHistory.interruptStale`), handing each to
   * `onInterrupted`; call it once the agent starts. A record that still shows a sign of life (another agent's, as
   * while a start-first update of the deployer runs two) is looked at again every {@link STALE_AFTER_MS}, until it
   * ends or goes stale.
   */
  async recoverInterrupted(onInterrupted: (record: DeployRecord) => void): Promise<void> {
    clearTimeout(this.recheck);
    const own = new Set([...this.running.values()].map((deploy) => deploy.id));
    const { interrupted, live } = await this.history.interruptStale(new Date(), STALE_AFTER_MS, own);
    interrupted.forEach(onInterrupted);
    if (live > 0) {
      this.recheck = setTimeout(() => {
        void this.recoverInterrupted(onInterrupted).catch(() => undefined);
      }, STALE_AFTER_MS);
      this.recheck.unref();
    }
  }

  /** The deploy of the app that runs now, if any. */
  runningDeploy(app: string): RunningDeploy | undefined {
    return this.running.get(app);
  }

  /** The record of what the app runs: its newest successful deploy, if any. */
  async deployed(app: string): Promise<DeployRecord | undefined> {
    return (await this.history.list(app)).find((record) => record.status === 'succeeded');
  }

  private again(app: string, record: DeployRecord): DeployRequest {
    return {
      app,
      repository: record.repository ?? '',
      commit: record.commit,
      branch: record.branch,
      reuseImages: record.images,
    };
  }

  private async rollbackTarget(app: string, deployId: string | undefined): Promise<DeployRecord | string> {
    const records = await this.history.list(app);
    const succeeded = records.filter((record) => record.status === 'succeeded' && record.repository);
    if (deployId !== undefined) {
      const target = records.find((record) => record.id === deployId);
      if (!target) return `no deploy ${deployId.slice(0, 80)} of ${app}: \`deploys ${app}\` lists them`;
      if (!succeeded.includes(target)) return `deploy ${deployId} of ${app} did not succeed: nothing to roll back to`;
      return target;
    }
    const current = succeeded[0];
    const previous = succeeded.find((record) => record.commit !== current?.commit);
    return previous ?? `${app} has no earlier successful deploy of another commit to roll back to`;
  }

  /** Prunes the app's history and releases what only the dropped deploys used; failures become warnings. */
  private async releaseDropped(
    app: string,
    onLine: (line: string) => void,
    warn: (message: string, failure?: unknown) => void,
  ): Promise<void> {
    try {
      const dropped = await this.history.prune(app);
      if (dropped.length === 0) return;
      const kept = await this.history.list(app);
      const released = await releaseDroppedImages(this.docker, app, dropped, kept, {
        address: this.settings.registry,
        ...(this.settings.registryAuth && { auth: this.settings.registryAuth }),
      });
      onLine(
        `history: ${dropped.length} older deploy${dropped.length === 1 ? '' : 's'} removed, with ${released.tags.length} registry tag${released.tags.length === 1 ? '' : 's'} and ${released.images.length} engine image tag${released.images.length === 1 ? '' : 's'}`,
      );
      for (const failure of released.failures) warn(`an older deploy's image could not be released: ${failure}`);
    } catch (error) {
      warn(`older deploys could not be pruned from the history: ${(error as Error).message}`, error);
    }
  }

  private async run(
    request: DeployRequest,
    origin: DeployOrigin,
    onLine: (line: string) => void,
    signal: AbortSignal,
    rollbackOf?: string,
  ): Promise<DeployResult> {
    const recording = await this.history.start(request.app, {
      commit: request.commit,
      branch: request.branch,
      repository: request.repository,
      trigger: origin.trigger,
      ...(origin.by !== undefined && { by: origin.by }),
      ...(rollbackOf !== undefined && { rollbackOf }),
    });
    const { record } = recording;
    const running: RunningDeploy = {
      id: record.id,
      commit: record.commit,
      startedAt: record.startedAt,
      trigger: origin.trigger,
    };
    this.running.set(request.app, running);
    this.feed.started(request.app, {
      id: record.id,
      commit: record.commit,
      branch: record.branch,
      startedAt: record.startedAt,
      trigger: origin.trigger,
    });
    let ended: DeployResult['status'] = 'failed';
    const say = (line: string): void => {
      recording.log(line);
      this.feed.line(request.app, record.id, line);
      onLine(line);
    };
    const warn = (message: string, failure?: unknown): void => {
      this.log?.warn({ app: request.app, deploy: record.id, ...(failure !== undefined && { err: failure }) }, message);
      this.feed.line(request.app, record.id, `warning: ${message}`);
      onLine(`warning: ${message}`);
    };
    let progressFailed = false;
    const heartbeat = setInterval(() => void recording.beat(), HEARTBEAT_MS);
    heartbeat.unref();
    let whole: Deadline | undefined;
    try {
      const appSettings = await this.appSettings.get(request.app);
      let limits: DeployLimits;
      try {
        limits = resolveDeployLimits(platformLimits(this.settings), appSettings.config);
      } catch (error) {
        const message = `${(error as Error).message} (\`config set ${request.app}\` changes it)`;
        say(`deploy failed: ${message}`);
        await recording.finish({ status: 'failed', error: message });
        return { ok: false, status: 'failed', deployId: record.id, error: message };
      }
      whole = deadline(
        signal,
        limits.deployMs === undefined ? undefined : timeLimit(LIMIT_KEYS.deployMs, limits.deployMs),
      );
      const report = await runPipeline(this.docker, this.settings, this.project, request, appSettings, say, {
        signal: whole.signal,
        limits,
        onStep: async (step) => {
          running.step = step;
          await recording
            .progress({ step, ...(step === 'deploy' && { stackDeployedAt: new Date().toISOString() }) })
            .catch((failure: unknown) => {
              if (progressFailed) return;
              progressFailed = true;
              warn(`the deploy's progress could not be recorded: ${(failure as Error).message}`, failure);
            });
        },
      });
      const { ok, status, urls, error, steps, images, resolvedCompose } = report;
      await recording
        .finish({
          status,
          steps,
          images,
          ...(urls && { urls }),
          ...(error && { error }),
          ...(resolvedCompose && { resolvedCompose }),
        })
        .catch((failure: unknown) => {
          warn(`the deploy's history could not be saved: ${(failure as Error).message}`, failure);
        });
      ended = status;
      await this.releaseDropped(request.app, onLine, warn);
      return { ok, status, deployId: record.id, ...(urls && { urls }), ...(error && { error }) };
    } finally {
      whole?.clear();
      clearInterval(heartbeat);
      this.running.delete(request.app);
      this.feed.finished(request.app, record.id, ended);
    }
  }
}
