import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { validateAppName } from './app-name.js';
import { packBuildContext } from './build-context.js';
import { loadCompose } from './compose/load.js';
import type { DeployResult } from './deploy-stream.js';
import { waitForStack } from './docker/converge.js';
import { deployStack } from './docker/stack.js';
import { assembleEnvironment } from './environment/assemble.js';
import { DeployHistory, type DeployRecord } from './history.js';
import { runPipeline, type DeployRequest, type PipelineSettings, type ProjectSteps } from './pipeline.js';
import { DeployQueue } from './queue.js';

/** The deployer's settings beyond the pipeline's. */
export interface DeployerSettings extends PipelineSettings {
  /** Where the deploy history lives. */
  historyDir: string;
  entrypointTimeoutMs: number;
  /** How many apps may deploy at once. */
  concurrency: number;
}

/**
 * The deployer: runs deploys through the pipeline, one per app at a time (a newer request supersedes a queued
 * one), records each in the history with its full log, and rolls an app back to a recorded deploy. Every caller
 * gets an answer.
 */
export class Deployer {
  private readonly queue: DeployQueue<DeployResult>;
  private readonly history: DeployHistory;
  private readonly project: ProjectSteps;

  constructor(
    private readonly docker: Docker,
    private readonly settings: DeployerSettings,
  ) {
    this.queue = new DeployQueue(settings.concurrency);
    this.history = new DeployHistory(settings.historyDir);
    this.project = {
      environment: (tree, platform, onLine) =>
        assembleEnvironment(tree, platform, { timeoutMs: settings.entrypointTimeoutMs, onLine }),
      loadCompose,
      buildContext: packBuildContext,
    };
  }

  /** Deploys `request.commit` of the app, streaming its log to `onLine`. */
  async deploy(request: DeployRequest, onLine: (line: string) => void): Promise<DeployResult> {
    validateAppName(request.app);
    return this.queued(request.app, onLine, async () => {
      const recording = await this.history.start(request.app, { commit: request.commit, branch: request.branch });
      const report = await runPipeline(this.docker, this.settings, this.project, request, (line) => {
        recording.log(line);
        onLine(line);
      });
      const { ok, status, urls, error, steps, images, resolvedCompose } = report;
      await recording.finish({
        status,
        steps,
        images,
        ...(urls && { urls }),
        ...(error && { error }),
        ...(resolvedCompose && { resolvedCompose }),
      });
      return { ok, status, deployId: recording.record.id, ...(urls && { urls }), ...(error && { error }) };
    });
  }

  /** Deploys again the compose file recorded by deploy `deployId` of `app`. */
  async rollback(app: string, deployId: string, onLine: (line: string) => void): Promise<DeployResult> {
    validateAppName(app);
    const target = await this.history.get(app, deployId);
    if (!target?.resolvedCompose) {
      return { ok: false, status: 'failed', error: `no deploy ${deployId} of ${app} to roll back to` };
    }
    const compose = target.resolvedCompose;
    return this.queued(app, onLine, async () => {
      const recording = await this.history.start(app, {
        commit: target.commit,
        branch: target.branch,
        rollbackOf: target.id,
      });
      const log = (line: string): void => {
        recording.log(line);
        onLine(line);
      };
      log(`-----> rolling ${app} back to deploy ${target.id} (commit ${target.commit})`);
      const file = join(this.settings.workDir, app, `rollback-${target.id}.compose.yml`);
      await mkdir(join(this.settings.workDir, app), { recursive: true });
      await writeFile(file, compose);
      const since = new Date(Date.now() - 1000);
      let result: DeployResult;
      try {
        await deployStack(
          { name: app, composeFile: file, dockerConfig: this.settings.dockerConfig, env: { PATH: this.settings.path } },
          log,
        );
        const converged = await waitForStack(
          this.docker,
          app,
          { timeoutMs: this.settings.convergeTimeoutMs, since },
          () => undefined,
        );
        result = converged.ok
          ? { ok: true, status: 'succeeded', ...(target.urls && { urls: target.urls }) }
          : { ok: false, status: 'failed', error: `service ${converged.service} failed: ${converged.reason}` };
      } catch (error) {
        result = { ok: false, status: 'failed', error: (error as Error).message };
      }
      log(result.ok ? `rolled back to ${target.id}` : `rollback failed: ${result.error ?? ''}`);
      await recording.finish({
        status: result.status,
        images: target.images,
        resolvedCompose: compose,
        ...(result.urls && { urls: result.urls }),
        ...(result.error && { error: result.error }),
      });
      return { ...result, deployId: recording.record.id };
    });
  }

  /** The apps with a recorded deploy. */
  apps(): Promise<string[]> {
    return this.history.apps();
  }

  /** An app's deploys, newest first. */
  deploys(app: string): Promise<DeployRecord[]> {
    return this.history.list(app);
  }

  /** A deploy's full log. */
  log(app: string, deployId: string): Promise<string | undefined> {
    return this.history.log(app, deployId);
  }

  private async queued(
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
}
