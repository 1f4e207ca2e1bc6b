import type { Logger } from '@swarmlet/common';
import type { RegistryConfig } from './config.js';
import { garbageCollect } from './garbage-collect.js';
import type { Metrics } from './metrics.js';
import { repositoriesRoot, repositoryPath, uploadPath, uploadStartedAtPath } from './paths.js';
import { listOrEmpty } from './store/links.js';
import type { Stores } from './stores.js';

type MaintenanceConfig = RegistryConfig['storage']['maintenance'];

/**
 * Removes the upload sessions started more than `ageMs` ago (abandoned pushes), or only lists them with
 * `dryRun`. A session whose start time cannot be read is judged by its directory's modification time.
 * Resolves with the sessions, as `<repository>/<id>`.
 */
export async function purgeUploads(stores: Stores, ageMs: number, dryRun: boolean): Promise<string[]> {
  const cutoff = Date.now() - ageMs;
  const purged: string[] = [];
  for (const repository of await repositoriesWithUploads(stores)) {
    for (const id of await listOrEmpty(stores.driver, `${repositoryPath(repository)}/_uploads`)) {
      const started = await stores.driver
        .getContent(uploadStartedAtPath(repository, id))
        .then((content) => Date.parse(content.toString('utf8')))
        .catch(async () => (await stores.driver.stat(uploadPath(repository, id))).modifiedAt.getTime());
      if (!(started < cutoff)) continue;
      if (!dryRun) await stores.driver.delete(uploadPath(repository, id));
      purged.push(`${repository}/${id}`);
    }
  }
  return purged;
}

/** Every repository directory holding `_uploads`, including one whose first push never got to a layer. */
async function repositoriesWithUploads(stores: Stores): Promise<string[]> {
  const found: string[] = [];
  const visit = async (relative: string): Promise<void> => {
    const children = await listOrEmpty(stores.driver, relative ? `${repositoriesRoot}/${relative}` : repositoriesRoot);
    if (relative && children.includes('_uploads')) found.push(relative);
    for (const child of children) if (!child.startsWith('_')) await visit(relative ? `${relative}/${child}` : child);
  };
  await visit('');
  return found;
}

/**
 * Runs the storage maintenance the config schedules, in the serving process: upload purging
 * (`storage.maintenance.uploadpurging`, as the CNCF registry does) and garbage collection
 * (`storage.maintenance.garbagecollect`, a setting of ours: `enabled`, `interval`, `deleteuntagged`, `dryrun`,
 * `grace`), each first one interval after start and never two runs of one kind at once. Garbage collection is safe
 * while pushes are served (see `garbage-collect.ts`). Results go to the log and the metrics.
 */
export class MaintenanceSchedule {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly stores: Stores,
    private readonly config: MaintenanceConfig,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {}

  /** Starts the enabled schedules. */
  start(): void {
    const { uploadpurging, garbagecollect } = this.config;
    if (uploadpurging.enabled) this.every(uploadpurging.interval, () => this.purge());
    if (garbagecollect.enabled) this.every(garbagecollect.interval, () => this.collect());
  }

  /** Stops the schedules and waits for a run under way. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    await Promise.all([...this.running]);
  }

  private every(intervalMs: number, run: () => Promise<void>): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      const task = run()
        .catch((error: unknown) => {
          this.log.error({ err: error }, 'scheduled maintenance failed');
        })
        .finally(() => {
          busy = false;
          this.running.delete(task);
        });
      this.running.add(task);
    }, intervalMs);
    timer.unref();
    this.timers.push(timer);
  }

  private async purge(): Promise<void> {
    const { age, dryrun } = this.config.uploadpurging;
    const purged = await purgeUploads(this.stores, age, dryrun);
    if (!dryrun) this.metrics.add('registry_upload_purges_total', {}, purged.length);
    if (purged.length > 0) this.log.info({ uploads: purged, dryRun: dryrun }, 'purged abandoned uploads');
  }

  private async collect(): Promise<void> {
    const { deleteuntagged, dryrun, grace } = this.config.garbagecollect;
    try {
      const report = await garbageCollect(this.stores, {
        dryRun: dryrun,
        deleteUntagged: deleteuntagged,
        gracePeriodMs: grace,
      });
      this.metrics.add('registry_gc_runs_total', { outcome: 'done' });
      if (!dryrun) {
        this.metrics.add('registry_gc_freed_blobs_total', {}, report.blobs.length);
        this.metrics.add('registry_gc_freed_bytes_total', {}, report.freedBytes);
      }
      this.log.info(
        { blobs: report.blobs.length, manifests: report.manifests.length, bytes: report.freedBytes, dryRun: dryrun },
        'scheduled garbage collection',
      );
    } catch (error) {
      this.metrics.add('registry_gc_runs_total', { outcome: 'failed' });
      throw error;
    }
  }
}
