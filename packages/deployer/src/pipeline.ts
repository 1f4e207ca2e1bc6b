import { rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type Docker from 'dockerode';
import yaml from 'js-yaml';
import { CORE_APPS, isTrusted, type AppSettings } from './app-settings.js';
import type { BuildContext } from './build-context.js';
import { checkoutCommit } from './checkout.js';
import type { Variables } from './compose/interpolate.js';
import type { LoadedCompose } from './compose/load.js';
import {
  dockerfileApp,
  DOCKERFILE,
  DOCKERFILE_SERVICE,
  lowestExposedPort,
  missingPortMessage,
  withRoutePort,
  type DockerfileApp,
  type DockerfileAppOptions,
} from './compose/dockerfile-app.js';
import { withDomains } from './compose/domains.js';
import { withContentNames } from './compose/file-objects.js';
import { NoComposeFileError } from './compose/load.js';
import { checkComposePolicy, routingClaims } from './compose/policy.js';
import { buildSecretsFor, planBuilds, resolveCompose, type BuildTarget, type ComposeFile } from './compose/resolve.js';
import { DEFAULT_LIMITS, LIMIT_KEYS, type DeployLimits } from './deploy-limits.js';
import { deadline, DeployStopped, stopOf, timeLimit } from './deploy-stop.js';
import type { DeployResult } from './deploy-stream.js';
import { pruneBuildCache } from './docker/build-cache.js';
import { describeOutage, describeProgress, waitForStack, type ServiceProgress } from './docker/converge.js';
import { limitedCall, type CallLimits } from './docker/engine-request.js';
import {
  buildImage,
  chooseBuilder,
  hasImage,
  pushImage,
  tagImage,
  type BuilderSetting,
  type RegistryAuth,
} from './docker/images.js';
import { imageExposedPorts } from './docker/image-ports.js';
import { routedServices } from './docker/routed-hosts.js';
import { deployStack } from './docker/stack.js';
import { rollBackStack } from './docker/stack-rollback.js';
import { pruneContentNamedObjects } from './docker/stack-file-objects.js';
import type { DeployEnvironment, PlatformVariables, VariableSource } from './environment/assemble.js';
import { PRODUCTION_ROUTER, reachability, type RouterSettings } from './routing.js';

/** A request to deploy an app's repository at a commit. */
export interface DeployRequest {
  app: string;
  /** The app's git repository on this machine. */
  repository: string;
  commit: string;
  branch: string;
  /** Object directories that also hold the commit (a pre-receive hook's quarantine). */
  objectDirectories?: string[];
  /**
   * Images an earlier deploy of this commit pushed: the services that have one run it again instead of being
   * built (a redeploy, a rollback, a config change). A service without one is built as usual.
   */
  reuseImages?: DeployedImage[];
}

/** An image a deploy pushed, with the digest the registry answered. */
export interface DeployedImage {
  service: string;
  reference: string;
  digest: string;
}

/** The platform's side of a deploy: where things go and what the deployed project is told. */
export interface PipelineSettings {
  /** Work trees and resolved compose files live below it. */
  workDir: string;
  /** The registry address the nodes pull from (`SWARMLET_REGISTRY`). */
  registry: string;
  registryAuth?: RegistryAuth;
  /** A `DOCKER_CONFIG` directory whose `config.json` holds the registry credentials for the docker CLI. */
  dockerConfig: string;
  rootDomain: string;
  username: string;
  email?: string;
  traefikNetwork: string;
  version: string;
  publishMode: 'ingress' | 'host';
  /** `PATH` for the programs a deploy runs (bash, docker). */
  path: string;
  convergeTimeoutMs: number;
  /** `auto` (the default) builds with BuildKit when the engine offers it; `classic` forces the classic builder. */
  builder?: BuilderSetting;
  /** The BuildKit cache is pruned down to this many bytes after the builds (default 10 GiB; 0: never). */
  buildCacheLimitBytes?: number;
  /** What routes HTTP to the apps: labels of Dockerfile apps and the URLs a deploy reports ({@link PRODUCTION_ROUTER}). */
  router?: RouterSettings;
  /**
   * What the platform's own stacks are told besides the platform's variables: the choices the install made about
   * this server (the engine's socket, the dashboard's address, …), so a push of a core repository keeps them.
   */
  coreVariables?: Readonly<Record<string, string>>;
  /**
   * The platform's time limits (see `deploy-limits.ts`); each one missing is {@link DEFAULT_LIMITS}'s, and
   * convergence's is `convergeTimeoutMs`. An app's config may set its own.
   */
  limits?: Partial<DeployLimits>;
}

/** The platform's time limits of a deploy under `settings`, before an app's own. */
export function platformLimits(settings: PipelineSettings): DeployLimits {
  return { ...DEFAULT_LIMITS, convergeMs: settings.convergeTimeoutMs, ...settings.limits };
}

/** What steers one run of the pipeline besides its request. */
export interface PipelineControl {
  /** Stops the deploy (a cancel, the whole deploy's limit); its reason is a `DeployStopped`. */
  signal?: AbortSignal;
  /** The deploy's time limits; {@link platformLimits} when undefined. */
  limits?: DeployLimits;
  /** Told as each step starts, before it runs (the history records where a deploy is). */
  onStep?: (step: string) => Promise<void> | void;
}

/** The steps that have a time limit of their own, with the limit's field. */
const STEP_LIMITS: Readonly<Record<string, 'buildMs' | 'pushMs' | 'stackDeployMs' | 'convergeMs'>> = {
  build: 'buildMs',
  push: 'pushMs',
  deploy: 'stackDeployMs',
  converge: 'convergeMs',
};

/** The build cache limit when the settings give none: 10 GiB. */
export const DEFAULT_BUILD_CACHE_LIMIT = 10 * 2 ** 30;

/** The project-reading steps of a deploy, supplied by the modules that own them. */
export interface ProjectSteps {
  /** The deploy's environment: the platform's variables, then `.env`, then `config`, then what `entrypoint` exports. */
  environment(
    tree: string,
    platform: PlatformVariables,
    config: Readonly<Record<string, string>>,
    onLine: (line: string) => void,
  ): Promise<DeployEnvironment>;
  /** The project's compose file, read and interpolated with `env`. */
  loadCompose(tree: string, env: Variables): Promise<LoadedCompose>;
  /** A tar of a build context below the tree, honouring `.dockerignore`. */
  buildContext(tree: string, context: string, dockerfile: string): Promise<BuildContext>;
}

/** What a finished pipeline reports besides success. */
export interface PipelineReport extends DeployResult {
  /** Each step's duration in milliseconds, in order. */
  steps: { step: string; ms: number }[];
  /** Every image the deploy runs that it built or reused, with the digest the registry answered. */
  images: DeployedImage[];
  /** The compose file as deployed, with the app's config values masked. */
  resolvedCompose?: string;
}

/**
 * Runs one deploy from a commit to a converged stack: checkout, environment, compose, build, push,
 * `docker stack deploy`, convergence, with the app's settings (config in the environment and in the built services,
 * scale overrides). Services with an image in `request.reuseImages` skip build and push. The compose file given to
 * `docker stack deploy` holds config values, so it is written mode 0600 as a new file (never through a link the
 * entrypoint left in its place) and removed once deployed; the report
 * keeps a masked copy. It is written beside the project's compose file in the checkout, so relative paths
 * (`env_file:`, `file:` secrets and configs, bind mounts) resolve against the project as `docker stack deploy -c`
 * run in the checkout would. Every step reports its lines to `onLine`. A failing step ends the deploy
 * with an error naming the step; when the new version does not converge, swarm rolls the updated services back and
 * the deploy ends once the previous version runs again, healthy (see {@link waitForStack}); the log says how long
 * a service replaced stop-first was unavailable. Never throws: failures are in the report.
 *
 * Time limits and cancel: `control.signal` and each step's deadline (build, push, `docker stack deploy`,
 * convergence; every Engine call has `engineCallMs`) are one AbortSignal handed to the step's work, which stops it:
 * the build and push requests are closed (the engine stops the build), the docker CLI is killed. A step without a
 * signal of its own (checkout, environment, compose) runs to its end and the deploy stops after it. The report's
 * status is then `timed-out` or `cancelled`, its error names the step and the setting
 * (`build: stopped after 30 min (SWARMLET_BUILD_TIMEOUT)`). Stopped once `docker stack deploy` has started, the
 * services it updated are rolled back and the ones it created removed (see `rollBackStack`), and the error says
 * what runs.
 */
export async function runPipeline(
  docker: Docker,
  settings: PipelineSettings,
  project: ProjectSteps,
  request: DeployRequest,
  appSettings: AppSettings,
  onLine: (line: string) => void,
  control: PipelineControl = {},
): Promise<PipelineReport> {
  const report: PipelineReport = { ok: false, status: 'failed', steps: [], images: [] };
  const limits = control.limits ?? platformLimits(settings);
  const stopSignal = control.signal ?? new AbortController().signal;
  let calls: CallLimits = { signal: stopSignal, callMs: limits.engineCallMs };
  let stackDeployedSince: Date | undefined;
  let lastProgress: ServiceProgress[] = [];
  const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    stopSignal.throwIfAborted();
    onLine(`-----> ${name}`);
    await control.onStep?.(name);
    const field = STEP_LIMITS[name];
    const stepDeadline = deadline(stopSignal, field && timeLimit(LIMIT_KEYS[field], limits[field]));
    calls = { signal: stepDeadline.signal, callMs: limits.engineCallMs };
    const started = Date.now();
    try {
      const value = await work();
      stepDeadline.signal.throwIfAborted();
      return value;
    } catch (error) {
      const stop = stopOf(error, stepDeadline.signal);
      if (stop) throw new DeployStopped(stop.outcome, `${name}: ${stop.message}`, { cause: error });
      throw new Error(`${name}: ${(error as Error).message}`, { cause: error });
    } finally {
      stepDeadline.clear();
      report.steps.push({ step: name, ms: Date.now() - started });
    }
  };
  try {
    const tree = join(settings.workDir, request.app, 'tree');
    const commit = await step('checkout', () =>
      checkoutCommit({
        repository: request.repository,
        commit: request.commit,
        directory: tree,
        ...(request.objectDirectories && { objectDirectories: request.objectDirectories }),
      }),
    );
    const platform: PlatformVariables = {
      registry: settings.registry,
      rootDomain: settings.rootDomain,
      username: settings.username,
      ...(settings.email !== undefined && { email: settings.email }),
      traefikNetwork: settings.traefikNetwork,
      version: settings.version,
      publishMode: settings.publishMode,
      app: request.app,
      commit,
      branch: request.branch,
      path: settings.path,
      ...(CORE_APPS.includes(request.app) && settings.coreVariables && { extra: settings.coreVariables }),
    };
    const environment = await step('environment', async () => {
      const assembled = await project.environment(tree, platform, appSettings.config, onLine);
      for (const line of describeSources(assembled.sources)) onLine(line);
      return assembled;
    });
    const { env } = environment;
    const router = settings.router ?? PRODUCTION_ROUTER;
    const loaded = await step('compose', () =>
      loadProjectCompose(tree, project, {
        app: request.app,
        environment,
        rootDomain: settings.rootDomain,
        registry: env.SWARMLET_REGISTRY ?? settings.registry,
        traefikNetwork: settings.traefikNetwork,
        router,
      }),
    );
    const composeFile = loaded.file;
    let { compose } = loaded;
    onLine(
      loaded.generated
        ? `no compose file: deploying ${DOCKERFILE} as the service ${DOCKERFILE_SERVICE}`
        : `read ${composeFile}: ${Object.keys(compose.services).join(', ')}`,
    );
    if (!isTrusted(request.app, appSettings)) {
      await step('policy', async () => {
        const claims = routingClaims(await routedServices(docker), settings.rootDomain, CORE_APPS);
        const found = await checkComposePolicy(compose, { app: request.app, tree, file: composeFile, claims });
        for (const violation of found) onLine(`policy: ${violation}`);
        if (found.length > 0) throw new Error(found.join('; '));
        onLine(`${composeFile} keeps to the app (the compose policy for untrusted apps applies)`);
      });
    }
    const planned = planBuilds(compose, request.app, env.SWARMLET_REGISTRY ?? settings.registry, commit);
    const images: Record<string, string> = {};
    const reused = reusableImages(planned, request.reuseImages ?? []);
    for (const image of reused) {
      images[image.service] = image.reference;
      report.images.push(image);
    }
    if (reused.length > 0) {
      onLine(`reusing the images already built for ${commit.slice(0, 12)}: ${reused.map((i) => i.service).join(', ')}`);
    }
    const targets = planned.filter((target) => target.images.some((image) => !(image.service in images)));
    if (targets.length > 0) {
      await step('build', async () => {
        const { builder, reason } = await chooseBuilder(docker, settings.builder ?? 'auto', calls);
        onLine(`builder: ${builder === 'buildkit' ? 'BuildKit' : 'classic'}, ${reason}`);
        for (const target of targets) {
          const [first, ...others] = target.images;
          if (!first) continue;
          const immutable = `${first.repository}:${first.commitTag}`;
          const previous = `${first.repository}:${first.tag}`;
          onLine(
            `building ${target.images.map((image) => image.service).join(', ')} from ${target.context}/${target.dockerfile}`,
          );
          const secrets = buildSecretsFor(target, appSettings.config);
          const context = await project.buildContext(tree, target.context, target.dockerfile);
          onLine(`build context ${target.context}: ${context.entries.length} entries after .dockerignore`);
          const cacheFrom =
            builder === 'buildkit' || (await hasImage(docker, previous, calls))
              ? [previous, ...target.cacheFrom]
              : target.cacheFrom;
          await buildImage(
            docker,
            {
              context: context.tar,
              dockerfile: context.dockerfile,
              tag: immutable,
              buildArgs: target.args,
              labels: { ...target.labels, 'swarmlet.managed': 'true', 'swarmlet.app': request.app },
              cacheFrom,
              builder,
              secrets,
              ...(settings.registryAuth && { registryAuth: settings.registryAuth }),
              ...(target.target !== undefined && { target: target.target }),
              limits: calls,
            },
            first.service,
            onLine,
          );
          for (const image of target.images) {
            await tagImage(docker, immutable, `${image.repository}:${image.commitTag}`, calls);
            await tagImage(docker, immutable, `${image.repository}:${image.tag}`, calls);
            images[image.service] = `${image.repository}:${image.commitTag}`;
          }
          onLine(
            `built ${immutable}${others.length ? ` (also for ${others.map((image) => image.service).join(', ')})` : ''}`,
          );
        }
        if (builder === 'buildkit') {
          await pruneBuildCache(docker, settings.buildCacheLimitBytes ?? DEFAULT_BUILD_CACHE_LIMIT, onLine).catch(
            (error: unknown) => {
              onLine(`build cache: could not be measured or pruned: ${(error as Error).message}`);
            },
          );
        }
      });
      await step('push', async () => {
        for (const target of targets) {
          for (const image of target.images) {
            for (const tag of [image.commitTag, image.tag]) {
              const reference = `${image.repository}:${tag}`;
              const digest = await pushImage(docker, reference, settings.registryAuth, onLine, calls.signal);
              if (tag === image.commitTag) report.images.push({ service: image.service, reference, digest });
            }
          }
        }
      });
    }
    if (loaded.generated) {
      const port = await routePort(docker, request.app, loaded.generated, images, onLine);
      compose = withRoutePort(compose, request.app, port);
      onLine(`the compose file made for ${DOCKERFILE} (commit it as docker-compose.yml to take control):`);
      const text = yaml.dump(withRoutePort(loaded.generated.template, request.app, port), { lineWidth: -1 });
      for (const line of text.trimEnd().split('\n')) onLine(`    ${line}`);
    }
    compose = withDomains(compose, appSettings.domains ?? [], settings.traefikNetwork, router);
    compose = await withContentNames(compose, join(tree, dirname(composeFile)), request.app);
    const resolve = (maskConfig: boolean) =>
      resolveCompose(compose, {
        app: request.app,
        images,
        config: appSettings.config,
        scale: appSettings.scale,
        maskConfig,
      });
    report.resolvedCompose = resolve(true);
    const since = new Date(Date.now() - 1000);
    await step('deploy', async () => {
      const file = join(tree, dirname(composeFile), `.swarmlet-${commit}.compose.yml`);
      await rm(file, { force: true });
      await writeFile(file, resolve(false), { mode: 0o600, flag: 'wx' });
      stackDeployedSince = since;
      try {
        await deployStack(
          {
            name: request.app,
            composeFile: file,
            dockerConfig: settings.dockerConfig,
            env: { PATH: settings.path },
            ...(calls.signal && { signal: calls.signal }),
          },
          onLine,
        );
      } finally {
        await rm(file, { force: true });
      }
    });
    const converged = await step('converge', () =>
      waitForStack(
        docker,
        request.app,
        { since, ...(calls.signal && { signal: calls.signal }), callMs: limits.engineCallMs },
        (services) => {
          lastProgress = services;
          onLine(describeProgress(services));
        },
      ),
    );
    for (const outage of converged.outages) onLine(describeOutage(outage));
    if (!converged.ok) {
      let error = `converge: service ${converged.service} failed: ${converged.reason}`;
      if (converged.rolledBack) error += '; the previous version was restored and serves again';
      // Swarm rolls back only the failed service's update: the stack's other services this deploy updated, and one
      // whose task no node can run, are rolled back here, so the previous version is what runs. Services new in
      // this deploy are left as they are, for `logs` to say why they fail.
      stackDeployedSince = undefined;
      const undone = await undoStackDeploy(docker, request.app, since, limits, onLine, { keepCreated: true });
      throw new Error(`${error}; ${undone}`);
    }
    // The deploy has succeeded: a clean-up that fails or takes too long is a warning, never a failure.
    await limitedCall(calls, 'the clean-up of old secrets and configs', () =>
      pruneContentNamedObjects(docker, request.app),
    ).then(
      (removed) => {
        for (const object of removed) onLine(`removed ${object}: no service uses it any more`);
      },
      (error: unknown) => {
        onLine(`warning: old secrets and configs were not cleaned up: ${(error as Error).message}`);
      },
    );
    const reached = reachability(compose, router);
    report.urls = reached.urls;
    report.ok = true;
    report.status = 'succeeded';
    for (const image of report.images) onLine(`image ${image.service}: ${image.reference}@${image.digest}`);
    onLine(`steps: ${report.steps.map((entry) => `${entry.step} ${(entry.ms / 1000).toFixed(1)} s`).join(', ')}`);
    for (const url of report.urls) onLine(`deployed to ${url}`);
    for (const note of reached.notes) onLine(note);
  } catch (error) {
    report.error = (error as Error).message;
    const stop = stopOf(error, stopSignal);
    if (stop) {
      report.status = stop.outcome;
      if (report.error.startsWith('converge: ') && lastProgress.length > 0) {
        report.error += ` with ${describeProgress(lastProgress)}`;
      }
      if (stackDeployedSince) {
        report.error += `; ${await undoStackDeploy(docker, request.app, stackDeployedSince, limits, onLine)}`;
      }
    }
    onLine(`deploy ${stop ? stop.outcome.replace('-', ' ') : 'failed'}: ${report.error}`);
  }
  return report;
}

/** A compose file as a deploy uses it: the project's, or one made for its Dockerfile. */
interface ProjectCompose {
  file: string;
  compose: ComposeFile;
  /** Set when the compose file was made for a Dockerfile-only repository. */
  generated?: DockerfileApp;
}

/** The project's compose file, or when it has none, the one made for its Dockerfile (see `dockerfile-app.ts`). */
async function loadProjectCompose(
  tree: string,
  project: ProjectSteps,
  options: DockerfileAppOptions,
): Promise<ProjectCompose> {
  try {
    return await project.loadCompose(tree, options.environment.env);
  } catch (error) {
    if (!(error instanceof NoComposeFileError)) throw error;
    const generated = await dockerfileApp(tree, options);
    return { file: DOCKERFILE, compose: generated.compose, generated };
  }
}

/** The port a Dockerfile app's route sends requests to: `PORT`, the Dockerfile's `EXPOSE`, or its image's. */
async function routePort(
  docker: Docker,
  app: string,
  generated: DockerfileApp,
  images: Record<string, string>,
  onLine: (line: string) => void,
): Promise<number> {
  let { port, portSource } = generated;
  const image = images[DOCKERFILE_SERVICE];
  if (port === undefined && image !== undefined) {
    port = lowestExposedPort(await imageExposedPorts(docker, image));
    portSource = "the image's EXPOSE";
  }
  if (port === undefined) throw new Error(`compose: ${missingPortMessage(app)}`);
  onLine(`routing ${DOCKERFILE_SERVICE} to port ${String(port)} (${portSource ?? ''})`);
  return port;
}

/**
 * Rolls back what a stopped or failed deploy's `docker stack deploy` changed (services it created stay with
 * `keepCreated`), saying so on `onLine`, and answers one phrase for the deploy's error: what runs now.
 */
async function undoStackDeploy(
  docker: Docker,
  app: string,
  since: Date,
  limits: DeployLimits,
  onLine: (line: string) => void,
  { keepCreated = false } = {},
): Promise<string> {
  onLine('-----> rollback: docker stack deploy had run, undoing what it changed');
  try {
    const undone = await rollBackStack(docker, app, {
      since,
      timeoutMs: limits.convergeMs,
      callMs: limits.engineCallMs,
      keepCreated,
    });
    const said = [
      undone.rolledBack.length ? `rolled back ${undone.rolledBack.join(', ')} to the previous version` : '',
      undone.alreadyRollingBack.length ? `swarm rolls back ${undone.alreadyRollingBack.join(', ')}` : '',
      undone.removed.length ? `removed ${undone.removed.join(', ')} (new in this deploy)` : '',
      ...undone.failed.map((failure) => `${failure.service} not rolled back: ${failure.reason}`),
    ].filter(Boolean);
    const summary = `after docker stack deploy: ${said.length ? said.join('; ') : 'no service had changed yet'}`;
    onLine(summary);
    return undone.failed.length ? `${summary}; \`status ${app}\` shows what runs` : summary;
  } catch (error) {
    const summary = `after docker stack deploy, the rollback failed (${(error as Error).message}): the swarm may run the new version; \`status ${app}\` shows what runs`;
    onLine(summary);
    return summary;
  }
}

/** The environment's variable names by where they came from, one line per source; never a value. */
function describeSources(sources: Record<string, VariableSource>): string[] {
  const names = new Map<VariableSource, string[]>();
  for (const [name, source] of Object.entries(sources)) names.set(source, [...(names.get(source) ?? []), name]);
  return [...names].map(([source, list]) => `variables from ${source}: ${list.join(', ')}`);
}

/** The recorded images that serve the planned builds' services again; a service recorded twice counts once. */
function reusableImages(targets: BuildTarget[], recorded: DeployedImage[]): DeployedImage[] {
  const services = new Set(targets.flatMap((target) => target.images.map((image) => image.service)));
  const found = new Map<string, DeployedImage>();
  for (const image of recorded) if (services.has(image.service)) found.set(image.service, image);
  return [...found.values()];
}
