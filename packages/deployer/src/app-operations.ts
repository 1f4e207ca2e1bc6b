import { access, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import yaml from 'js-yaml';
import { isAppName, validateAppName } from './app-name.js';
import { CORE_APPS, isTrusted, validateConfigKey, type AppSettings } from './app-settings.js';
import { validateLimitSettings } from './deploy-limits.js';
import { stopOf } from './deploy-stop.js';
import { domainPort, domainService, isDomainRouter, validateHostName, type DomainRoute } from './compose/domains.js';
import { describeOwner, routingClaims } from './compose/policy.js';
import type { ComposeFile } from './compose/resolve.js';
import { normalizeHost, routerRules, ruleHosts } from './compose/traefik-rules.js';
import type { DeployResult } from './deploy-stream.js';
import type { DeployOrigin, Deployer, RunningDeploy } from './deployer.js';
import { removeAppImages, removeAppStack, removeAppVolumes } from './docker/app-removal.js';
import {
  appServices,
  noSuchService,
  restartServices,
  scaleService,
  stackReplicaCounts,
  type ServiceState,
} from './docker/app-services.js';
import { describeProgress, waitForStack, type ConvergeResult } from './docker/converge.js';
import type { RegistryAuth } from './docker/images.js';
import { routedServices } from './docker/routed-hosts.js';
import { openServiceLogs, type ServiceLogReader } from './docker/service-logs.js';
import type { DeployRecord } from './history.js';
import { splitReference } from './image-reference.js';
import { deleteRepositoryTags } from './registry-tags.js';

export { CORE_APPS } from './app-settings.js';

/** An app name that names no app: nothing deployed, no repository, no settings. */
export class UnknownAppError extends Error {
  constructor(app: string) {
    super(`unknown app ${JSON.stringify(app.slice(0, 80))}: \`apps\` lists the apps`);
    this.name = 'UnknownAppError';
  }
}

/** A verb that cannot do what it was asked, said before anything changed. */
export class OperationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OperationError';
  }
}

/** One line of `apps`. */
export interface AppSummary {
  app: string;
  core: boolean;
  running: number;
  desired: number;
  deployed?: { id: string; commit: string; branch: string; at: string };
  /** The newest finished deploy's outcome. */
  lastOutcome?: DeployRecord['status'];
  deploying?: RunningDeploy;
  urls: string[];
}

/** What `status` shows of an app. */
export interface AppStatus extends AppSummary {
  services: (ServiceState & { scaleOverride?: number })[];
  scale: Record<string, number>;
  /** The newest finished deploy, when it did not succeed: how and where it ended (an interrupted one included). */
  lastDeploy?: Pick<
    DeployRecord,
    'id' | 'commit' | 'status' | 'step' | 'error' | 'finishedAt' | 'interruptedAt' | 'stackDeployedAt'
  >;
  /** `untrusted`: its deploys must keep to the compose policy for untrusted apps; `trusted`: a core app, or `apps trust`. */
  policy: 'trusted' | 'untrusted';
}

/** One host an app is reached at, as `domains APP` lists it. */
export interface AppDomain {
  host: string;
  /** The service it reaches; undefined for a `domains add` host whose service the next deploy chooses. */
  service?: string;
  /** Where the route comes from: a router label of the compose file, or `domains add`. */
  source: 'compose' | 'domains add';
  /** The port given with `domains add --port`. */
  port?: number;
}

/** Where the operations find what the platform keeps besides the deployer's own. */
export interface OperationSettings {
  /** `SWARMLET_REGISTRY`: the registry whose tags of an app `destroy` removes. */
  registry: string;
  registryAuth?: RegistryAuth;
  /** The receiver's repositories (`<dir>/<app>.git`), removed by `destroy`; undefined when unknown. */
  reposDir?: string;
  /** The deployer's work trees, `<dir>/<app>`. */
  workDir: string;
  /** `PATH` for the docker CLI. */
  path: string;
  convergeTimeoutMs: number;
  /** `ROOT_DOMAIN`: the platform's own hosts below it (`registry.`, `traefik.`, `swarmlet.`) are never an app's. */
  rootDomain: string;
}

/** A `scale` request: replicas per service, or `default` to go back to the compose file's. */
export type ScaleChanges = Record<string, number | 'default'>;

/** The largest replica count `scale` takes. */
const MAX_REPLICAS = 1000;

/**
 * The day-2 verbs on apps, as the agent's API serves them: `apps`, `status`, `deploys`, `logs`, `config`, `scale`,
 * `restart`, `destroy` (deploys, redeploys and rollbacks are the {@link Deployer}'s). Reads answer at once, also
 * during a deploy; changes to what runs take the app's turn after any deploy, like a push. Every verb first
 * checks that the app exists ({@link UnknownAppError}) and its input ({@link OperationError},
 * `AppSettingsError`), so refused input changes nothing.
 */
export class AppOperations {
  constructor(
    private readonly docker: Docker,
    private readonly deployer: Deployer,
    private readonly settings: OperationSettings,
  ) {}

  /** Every app: with a deploy on record, a stack on the swarm, a repository or settings. Sorted by name. */
  async apps(): Promise<AppSummary[]> {
    const [counts, recorded, repositories, configured] = await Promise.all([
      stackReplicaCounts(this.docker),
      this.deployer.history.apps(),
      this.repositoryApps(),
      this.deployer.appSettings.apps(),
    ]);
    const names = new Set([...recorded, ...repositories, ...configured, ...[...counts.keys()].filter(isAppName)]);
    return Promise.all(
      [...names].sort().map((app) => this.summary(app, counts.get(app) ?? { running: 0, desired: 0 })),
    );
  }

  /** The app's services and tasks as they run now, what is deployed and deploying, and its scale overrides. */
  async status(app: string): Promise<AppStatus> {
    await this.requireApp(app);
    const [services, settings, records] = await Promise.all([
      appServices(this.docker, app),
      this.deployer.appSettings.get(app),
      this.deployer.history.list(app),
    ]);
    const totals = services.reduce(
      (sum, service) => ({ running: sum.running + service.running, desired: sum.desired + service.desired }),
      { running: 0, desired: 0 },
    );
    const last = records.find((record) => record.status !== 'running');
    return {
      ...(await this.summary(app, totals)),
      ...(last &&
        last.status !== 'succeeded' && {
          lastDeploy: {
            id: last.id,
            commit: last.commit,
            status: last.status,
            ...(last.step !== undefined && { step: last.step }),
            ...(last.error !== undefined && { error: last.error }),
            ...(last.finishedAt !== undefined && { finishedAt: last.finishedAt }),
            ...(last.interruptedAt !== undefined && { interruptedAt: last.interruptedAt }),
            ...(last.stackDeployedAt !== undefined && { stackDeployedAt: last.stackDeployedAt }),
          },
        }),
      services: services.map((service) => {
        const override = settings.scale[service.service];
        return override === undefined ? service : { ...service, scaleOverride: override };
      }),
      scale: settings.scale,
      policy: isTrusted(app, settings) ? 'trusted' : 'untrusted',
    };
  }

  /**
   * Trusts the app (its deploys skip the compose policy for untrusted apps) or untrusts it again; applies from its
   * next deploy. Core apps are always trusted.
   * @throws OperationError when untrusting a core app.
   */
  async trust(app: string, trusted: boolean, onLine: (line: string) => void): Promise<DeployResult> {
    await this.requireApp(app);
    if (CORE_APPS.includes(app)) {
      if (!trusted) throw new OperationError(`${app} is a core app of the platform: it is always trusted`);
      onLine(`${app} is a core app of the platform: always trusted`);
      return { ok: true, status: 'succeeded' };
    }
    await this.deployer.appSettings.update(app, ({ trusted: _previous, ...settings }) =>
      trusted ? { ...settings, trusted: true } : settings,
    );
    onLine(
      trusted
        ? `-----> ${app} is trusted: its next deploys skip the compose policy for untrusted apps`
        : `-----> ${app} is untrusted: the compose policy applies to its next deploys`,
    );
    return { ok: true, status: 'succeeded' };
  }

  /** The hosts the app is reached at: its running services' router rules, then the `domains add` hosts. */
  async domains(app: string): Promise<AppDomain[]> {
    await this.requireApp(app);
    const [services, settings] = await Promise.all([routedServices(this.docker), this.deployer.appSettings.get(app)]);
    const added = settings.domains ?? [];
    const found: AppDomain[] = [];
    for (const service of services.filter((entry) => entry.owner === app)) {
      for (const { router, rule } of routerRules(service.labels)) {
        if (isDomainRouter(router)) continue;
        for (const host of ruleHosts(rule).hosts) {
          if (!found.some((entry) => entry.host === host)) {
            found.push({ host, service: service.service, source: 'compose' });
          }
        }
      }
    }
    return [
      ...found,
      ...added.map((route) => ({
        host: route.host,
        ...(route.service !== undefined && { service: route.service }),
        source: 'domains add' as const,
        ...(route.port !== undefined && { port: route.port }),
      })),
    ];
  }

  /**
   * Routes `host` to a service of the app (`service`, by default its only routed service, or `web`) and deploys the
   * deployed commit again with its images so the route applies; later deploys keep it.
   * @throws HostNameError for a malformed host; OperationError when the platform or another app routes it, for a
   * bad port, or a service or port the deployed compose file cannot give; nothing changes then.
   */
  async addDomain(
    app: string,
    hostName: string,
    options: { service?: string; port?: number },
    origin: DeployOrigin,
    onLine: (line: string) => void,
  ): Promise<DeployResult> {
    await this.requireApp(app);
    const host = validateHostName(hostName);
    const { port } = options;
    if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
      throw new OperationError(`--port ${String(port)}: give a port from 1 to 65535`);
    }
    const owner = await this.hostOwner(host, app);
    if (owner !== undefined) throw new OperationError(`${host} is routed by ${owner}: it cannot be added to ${app}`);
    const settings = await this.deployer.appSettings.get(app);
    if ((settings.domains ?? []).some((route) => route.host === host)) {
      onLine(`${host} is already a domain of ${app}: nothing changed`);
      return { ok: true, status: 'succeeded' };
    }
    const deployed = await this.deployedCompose(app);
    let service = options.service;
    if (deployed) {
      try {
        service = domainService(deployed, options.service);
        domainPort(service, deployed.services[service] ?? {}, port);
      } catch (error) {
        throw new OperationError(`${host}: ${(error as Error).message}`);
      }
    }
    const route: DomainRoute = { host, ...(service !== undefined && { service }), ...(port !== undefined && { port }) };
    await this.deployer.appSettings.update(app, (current) => ({
      ...current,
      domains: [...(current.domains ?? []).filter((entry) => entry.host !== host), route],
    }));
    onLine(`-----> domains of ${app}: added ${host}${service === undefined ? '' : ` (service ${service})`}`);
    return this.apply(app, true, origin, onLine);
  }

  /**
   * Stops routing a `domains add` host to the app and deploys again so the route goes.
   * @throws OperationError when the host is not one `domains add` gave the app.
   */
  async removeDomain(
    app: string,
    hostName: string,
    origin: DeployOrigin,
    onLine: (line: string) => void,
  ): Promise<DeployResult> {
    await this.requireApp(app);
    const host = normalizeHost(hostName);
    const settings = await this.deployer.appSettings.get(app);
    if (!(settings.domains ?? []).some((route) => route.host === host)) {
      const listed = (await this.domains(app)).some((entry) => entry.host === host);
      throw new OperationError(
        listed
          ? `${host} is routed by ${app}'s compose file: change its labels there`
          : `${JSON.stringify(host.slice(0, 100))} is not a domain of ${app}: \`domains ${app}\` lists them`,
      );
    }
    await this.deployer.appSettings.update(app, ({ domains, ...current }) => {
      const kept = (domains ?? []).filter((route) => route.host !== host);
      return kept.length > 0 ? { ...current, domains: kept } : current;
    });
    onLine(`-----> domains of ${app}: removed ${host}`);
    return this.apply(app, true, origin, onLine);
  }

  /** The app's recorded deploys, newest first. */
  async deploys(app: string): Promise<DeployRecord[]> {
    await this.requireApp(app);
    return this.deployer.history.list(app);
  }

  /** One recorded deploy and its log. */
  async deploy(app: string, id: string): Promise<{ deploy: DeployRecord; log: string }> {
    await this.requireApp(app);
    const deploy = await this.deployer.history.get(app, id);
    if (!deploy)
      throw new OperationError(`no deploy ${JSON.stringify(id.slice(0, 80))} of ${app}: \`deploys ${app}\` lists them`);
    return { deploy, log: (await this.deployer.history.log(app, id)) ?? '' };
  }

  /**
   * The reader of the app's service logs, of one service when `service` is given (see `openServiceLogs`).
   * @throws UnknownAppError; ServiceChangeError when the app runs no service, or not that one.
   */
  async logs(app: string, service: string | undefined): Promise<ServiceLogReader> {
    await this.requireApp(app);
    return openServiceLogs(this.docker, app, service);
  }

  /** The app's config: every key, with its value only when `reveal`. */
  async config(app: string, reveal: boolean): Promise<Record<string, string | null>> {
    await this.requireApp(app);
    const { config } = await this.deployer.appSettings.get(app);
    return Object.fromEntries(
      Object.keys(config)
        .sort()
        .map((key) => [key, reveal ? (config[key] ?? '') : null]),
    );
  }

  /** One config value. @throws OperationError when the key is not set. */
  async configValue(app: string, key: string): Promise<string> {
    await this.requireApp(app);
    const value = (await this.deployer.appSettings.get(app)).config[validateConfigKey(key)];
    if (value === undefined)
      throw new OperationError(`${key} is not set for ${app}: \`config show ${app}\` lists the keys`);
    return value;
  }

  /**
   * Sets and unsets config keys, then (unless `deploy` is false, or the app has no deploy yet) deploys the
   * deployed commit again with its images so the services get the new values. Values never reach `onLine`.
   * @throws LimitSettingError for a time limit setting (`SWARMLET_BUILD_TIMEOUT`, …) that is not a duration.
   */
  async changeConfig(
    app: string,
    change: { set: Record<string, string>; unset: string[] },
    deploy: boolean,
    origin: DeployOrigin,
    onLine: (line: string) => void,
  ): Promise<DeployResult> {
    await this.requireApp(app);
    for (const key of [...Object.keys(change.set), ...change.unset]) validateConfigKey(key);
    validateLimitSettings(change.set);
    if (Object.keys(change.set).length + change.unset.length === 0) throw new OperationError('no config key given');
    let changed: string[] = [];
    await this.deployer.appSettings.update(app, (settings) => {
      const config = { ...settings.config };
      changed = [
        ...Object.entries(change.set)
          .filter(([key, value]) => config[key] !== value)
          .map(([key]) => key),
        ...change.unset.filter((key) => key in config),
      ];
      const unset = new Set(change.unset);
      const kept = Object.fromEntries(Object.entries(config).filter(([key]) => !unset.has(key)));
      return { ...settings, config: { ...kept, ...change.set } };
    });
    const said = [
      Object.keys(change.set).length ? `set ${Object.keys(change.set).join(', ')}` : '',
      change.unset.length ? `unset ${change.unset.join(', ')}` : '',
    ].filter(Boolean);
    onLine(`-----> config of ${app}: ${said.join('; ')}`);
    if (changed.length === 0) {
      onLine('nothing changed: not deployed');
      return { ok: true, status: 'succeeded' };
    }
    return this.apply(app, deploy, origin, onLine);
  }

  /**
   * Scales services now and keeps the counts for later deploys (`default` drops the override and deploys again
   * with the compose file's count).
   * @throws OperationError for a service the app does not run, a global service, or more tasks than nodes for a
   * service that publishes a port in host mode; nothing changes then.
   */
  async scale(
    app: string,
    changes: ScaleChanges,
    origin: DeployOrigin,
    onLine: (line: string) => void,
  ): Promise<DeployResult> {
    await this.requireApp(app);
    const services = await appServices(this.docker, app);
    const nodes = (await this.docker.listNodes()) as {
      Status?: { State?: string };
      Spec?: { Availability?: string };
    }[];
    const ready = nodes.filter((node) => node.Status?.State === 'ready' && node.Spec?.Availability === 'active').length;
    for (const [name, replicas] of Object.entries(changes)) {
      const service = services.find((entry) => entry.service === name);
      if (!service) {
        throw new OperationError(
          noSuchService(
            app,
            name,
            services.map((entry) => entry.service),
          ),
        );
      }
      if (service.mode === 'global')
        throw new OperationError(`${name} is a global service: one task runs on every node, it cannot be scaled`);
      if (replicas !== 'default' && (!Number.isInteger(replicas) || replicas < 0 || replicas > MAX_REPLICAS)) {
        throw new OperationError(`${name}: replicas must be a whole number from 0 to ${MAX_REPLICAS}`);
      }
      if (replicas !== 'default' && replicas > ready && service.hostPorts.length > 0) {
        throw new OperationError(
          `${name} publishes port ${service.hostPorts.join(', ')} in host mode: one task per node can hold it, and the swarm has ${ready} active node${ready === 1 ? '' : 's'}`,
        );
      }
    }
    await this.deployer.appSettings.update(app, (settings) => {
      const merged: Record<string, number | 'default'> = { ...settings.scale, ...changes };
      const scale = Object.fromEntries(
        Object.entries(merged).filter((entry): entry is [string, number] => entry[1] !== 'default'),
      );
      return { ...settings, scale };
    });
    onLine(
      `-----> scaling ${app}: ${Object.entries(changes)
        .map(([name, n]) => `${name}=${n}`)
        .join(' ')}`,
    );
    if (Object.values(changes).includes('default')) return this.apply(app, true, origin, onLine);
    return this.deployer.exclusive(app, onLine, async (signal) => {
      const since = new Date(Date.now() - 1000);
      for (const [name, replicas] of Object.entries(changes))
        await scaleService(this.docker, app, name, replicas as number);
      return this.converge(app, since, onLine, signal);
    });
  }

  /** A rolling restart of one service or all of them, under each service's update policy, waited for. */
  async restart(app: string, service: string | undefined, onLine: (line: string) => void): Promise<DeployResult> {
    await this.requireApp(app);
    return this.deployer.exclusive(app, onLine, async (signal) => {
      const since = new Date(Date.now() - 1000);
      const restarted = await restartServices(this.docker, app, service);
      onLine(`-----> restarting ${restarted.join(', ')}`);
      return this.converge(app, since, onLine, signal);
    });
  }

  /**
   * Removes the app: its stack (waiting until its tasks are gone), repository, settings, history, its tags in the
   * registry and its images on this engine; its named volumes only with `volumes`.
   * @throws OperationError for a core app or when `confirm` is not the app's name.
   */
  async destroy(
    app: string,
    confirm: string | undefined,
    volumes: boolean,
    onLine: (line: string) => void,
  ): Promise<DeployResult> {
    await this.requireApp(app);
    if (CORE_APPS.includes(app))
      throw new OperationError(`${app} is a core app of the platform: it cannot be destroyed`);
    if (confirm !== app) {
      throw new OperationError(`destroying ${app} removes it for good: confirm with --confirm ${app}`);
    }
    return this.deployer.exclusive(app, onLine, async () => {
      const repositories = await this.registryRepositories(app);
      onLine(`-----> removing the stack ${app}`);
      await removeAppStack(this.docker, app, { PATH: this.settings.path }, onLine);
      if (volumes) {
        const removed = await removeAppVolumes(this.docker, app);
        onLine(removed.length ? `removed volumes ${removed.join(', ')}` : 'no volume to remove');
      } else onLine('named volumes kept (--volumes removes them)');
      for (const repository of repositories) {
        const tags = await deleteRepositoryTags(this.settings.registry, repository, this.settings.registryAuth);
        onLine(
          `removed ${tags.length} tag${tags.length === 1 ? '' : 's'} of ${this.settings.registry}/${repository} from the registry`,
        );
      }
      const images = await removeAppImages(
        this.docker,
        app,
        repositories.map((name) => `${this.settings.registry}/${name}`),
      );
      onLine(`removed ${images.length} image${images.length === 1 ? '' : 's'} from this engine`);
      if (this.settings.reposDir)
        await rm(join(this.settings.reposDir, `${app}.git`), { recursive: true, force: true });
      await rm(join(this.settings.workDir, app), { recursive: true, force: true });
      await this.deployer.appSettings.remove(app);
      await this.deployer.history.remove(app);
      onLine(`-----> destroyed ${app}: repository, config and history removed`);
      return { ok: true, status: 'succeeded' };
    });
  }

  /**
   * Checks that `app` is an app: a valid name with a deploy on record, a stack, a repository or settings.
   * @throws Error for an invalid name; UnknownAppError for no such app.
   */
  async requireApp(app: string): Promise<void> {
    validateAppName(app);
    const [recorded, stacked, repository, settings] = await Promise.all([
      this.deployer.history.list(app).then((records) => records.length > 0),
      appServices(this.docker, app).then((services) => services.length > 0),
      this.hasRepository(app),
      this.deployer.appSettings.get(app).then((found) => hasSettings(found)),
    ]);
    if (!recorded && !stacked && !repository && !settings) throw new UnknownAppError(app);
  }

  /** Who routes `host` when it is not `app`: the platform, another app's services, or another app's `domains add`. */
  private async hostOwner(host: string, app: string): Promise<string | undefined> {
    const claims = routingClaims(await routedServices(this.docker), this.settings.rootDomain, CORE_APPS);
    const owner = claims.hosts.get(host);
    if (owner && (owner.platform || owner.owner !== app)) return describeOwner(owner);
    for (const other of await this.deployer.appSettings.apps()) {
      if (other === app) continue;
      const { domains = [] } = await this.deployer.appSettings.get(other);
      if (domains.some((route) => route.host === host)) return `app ${other} (domains add)`;
    }
    return undefined;
  }

  /** The compose file of the app's deployed version, as recorded (config values masked), if any. */
  private async deployedCompose(app: string): Promise<ComposeFile | undefined> {
    const text = (await this.deployer.deployed(app))?.resolvedCompose;
    if (text === undefined) return undefined;
    const parsed = yaml.load(text) as ComposeFile | null;
    return parsed?.services ? parsed : undefined;
  }

  private async apply(
    app: string,
    deploy: boolean,
    origin: DeployOrigin,
    onLine: (line: string) => void,
  ): Promise<DeployResult> {
    if (!deploy) {
      onLine('saved, not deployed (--no-deploy): the next deploy applies it');
      return { ok: true, status: 'succeeded' };
    }
    if (!(await this.deployer.deployed(app))?.repository) {
      onLine(`saved: ${app} has no successful deploy yet, its next push applies it`);
      return { ok: true, status: 'succeeded' };
    }
    return this.deployer.redeploy(app, onLine, origin);
  }

  /** Waits until the app's stack converges; `cancel APP` (`signal`) ends the wait, leaving swarm to finish. */
  private async converge(
    app: string,
    since: Date,
    onLine: (line: string) => void,
    signal: AbortSignal,
  ): Promise<DeployResult> {
    let converged: ConvergeResult;
    try {
      converged = await waitForStack(
        this.docker,
        app,
        { timeoutMs: this.settings.convergeTimeoutMs, since, signal },
        (progress) => {
          onLine(describeProgress(progress));
        },
      );
    } catch (error) {
      const stop = stopOf(error, signal);
      if (!stop) throw error;
      const message = `${stop.message}: no longer waited for; swarm goes on with the change, \`status ${app}\` shows it`;
      onLine(message);
      return { ok: false, status: stop.outcome, error: message };
    }
    if (converged.ok) return { ok: true, status: 'succeeded' };
    return { ok: false, status: 'failed', error: `service ${converged.service} failed: ${converged.reason}` };
  }

  private async summary(app: string, counts: { running: number; desired: number }): Promise<AppSummary> {
    const records = await this.deployer.history.list(app);
    const deployed = records.find((record) => record.status === 'succeeded');
    const last = records.find((record) => record.status !== 'running');
    const deploying = this.deployer.runningDeploy(app);
    return {
      app,
      core: CORE_APPS.includes(app),
      ...counts,
      ...(deployed && {
        deployed: {
          id: deployed.id,
          commit: deployed.commit,
          branch: deployed.branch,
          at: deployed.finishedAt ?? deployed.startedAt,
        },
      }),
      ...(last && { lastOutcome: last.status }),
      ...(deploying && { deploying }),
      urls: deployed?.urls ?? [],
    };
  }

  /** The registry repositories (names without the host) that the app's recorded deploys pushed to. */
  private async registryRepositories(app: string): Promise<string[]> {
    const names = new Set<string>();
    for (const record of await this.deployer.history.list(app)) {
      for (const image of record.images) {
        const { repository } = splitReference(image.reference);
        if (repository.startsWith(`${this.settings.registry}/`))
          names.add(repository.slice(this.settings.registry.length + 1));
      }
    }
    return [...names].sort();
  }

  private async repositoryApps(): Promise<string[]> {
    if (!this.settings.reposDir) return [];
    const entries = await readdir(this.settings.reposDir).catch(() => [] as string[]);
    return entries
      .filter((name) => name.endsWith('.git'))
      .map((name) => name.slice(0, -4))
      .filter(isAppName);
  }

  private async hasRepository(app: string): Promise<boolean> {
    if (!this.settings.reposDir) return false;
    return access(join(this.settings.reposDir, `${app}.git`)).then(
      () => true,
      () => false,
    );
  }
}

function hasSettings(settings: AppSettings): boolean {
  return (
    Object.keys(settings.config).length + Object.keys(settings.scale).length > 0 ||
    settings.trusted === true ||
    (settings.domains ?? []).length > 0
  );
}
