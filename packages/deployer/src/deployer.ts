import type { Logger } from '@swarmlet/common';
import type Docker from 'dockerode';
import { validateAppName } from './app-name.js';
import { AppSettingsStore } from './app-settings.js';
import { packBuildContext } from './build-context.js';
import { loadCompose } from './compose/load.js';
import type { DeployResult } from './deploy-stream.js';
import { assembleEnvironment } from './environment/assemble.js';
import { DeployHistory, KEPT_PER_APP, type DeployRecord, type DeployTrigger } from './history.js';
import { runPipeline, type DeployRequest, type PipelineSettings, type ProjectSteps } from './pipeline.js';
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
}

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
  private readonly queue: DeployQueue<DeployResult>;
  private readonly project: ProjectSteps;
  private readonly running = new Map<string, RunningDeploy>();

  constructor(
    private readonly docker: Docker,
    private readonly settings: DeployerSettings,
    private readonly log?: Logger,
  ) {
    this.queue = new DeployQueue(settings.concurrency);
    this.history = new DeployHistory(settings.historyDir, settings.historyLimit ?? KEPT_PER_APP);
    this.appSettings = new AppSettingsStore(settings.appSettingsDir);
    this.project = {
      environment: (tree, platform, config, onLine) =>
        assembleEnvironment(tree, platform, { timeoutMs: settings.entrypointTimeoutMs, onLine }, config),
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
    return this.exclusive(request.app, onLine, () => this.run(request, origin, onLine));
  }

  /**
   * Deploys the app's deployed commit again with its images and the app's current settings: no build. Used by
   * `redeploy`, and by `config` and `scale` changes to apply them.
   */
  async redeploy(app: string, onLine: (line: string) => void, origin: DeployOrigin): Promise<DeployResult> {
    validateAppName(app);
    return this.exclusive(app, onLine, async () => {
      const deployed = await this.deployed(app);
      if (!deployed?.repository) {
        return { ok: false, status: 'failed', error: `${app} has no successful deploy to deploy again: push it first` };
      }
      onLine(`-----> deploying ${app} again at ${deployed.commit.slice(0, 12)} (deploy ${deployed.id})`);
      return this.run(this.again(app, deployed), origin, onLine);
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
    return this.exclusive(app, onLine, async () => {
      const target = await this.rollbackTarget(app, deployId);
      if (typeof target === 'string') return { ok: false, status: 'failed', error: target };
      onLine(`-----> rolling ${app} back to deploy ${target.id} (commit ${target.commit.slice(0, 12)})`);
      return this.run(this.again(app, target), { trigger: 'rollback', ...(by && { by }) }, onLine, target.id);
    });
  }

  /**
   * Runs `job` in the app's turn: after the deploy that runs or waits (saying so on `onLine`), like a push.
   * Resolves `superseded` when a newer request for the app took the job's place before it started.
   */
  async exclusive(
    app: string,
    onLine: (line: string) => void,
    job: () => Promise<DeployResult>,
  ): Promise<DeployResult> {
    if (this.queue.busy(app)) onLine(`another deploy of ${app} is under way: waiting for it to finish`);
    const answer = await this.queue.run(app, job);
    if (answer.status === 'superseded') {
      onLine('superseded by a newer deploy of this app: nothing deployed');
      return { ok: false, status: 'superseded' };
    }
    return answer.value;
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
    this.running.set(request.app, {
      id: record.id,
      commit: record.commit,
      startedAt: record.startedAt,
      trigger: origin.trigger,
    });
    try {
      const appSettings = await this.appSettings.get(request.app);
      const report = await runPipeline(this.docker, this.settings, this.project, request, appSettings, (line) => {
        recording.log(line);
        onLine(line);
      });
      const { ok, status, urls, error, steps, images, resolvedCompose } = report;
      const warn = (message: string, failure?: unknown) => {
        this.log?.warn(
          { app: request.app, deploy: record.id, ...(failure !== undefined && { err: failure }) },
          message,
        );
        onLine(`warning: ${message}`);
      };
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
      await this.releaseDropped(request.app, onLine, warn);
      return { ok, status, deployId: record.id, ...(urls && { urls }), ...(error && { error }) };
    } finally {
      this.running.delete(request.app);
    }
  }
}
