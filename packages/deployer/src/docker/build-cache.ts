import type Docker from 'dockerode';
import { engineRequest } from './engine-request.js';

/** The BuildKit build cache as the engine reports it (`docker system df`). */
export interface BuildCacheUsage {
  /** Bytes held by the cache and by nothing else (records shared with images are not counted). */
  bytes: number;
  entries: number;
}

/** What one look at the build cache did. */
export interface BuildCachePruneReport {
  /** Usage before pruning. */
  before: BuildCacheUsage;
  limitBytes: number;
  /** Whether the cache was above the limit, and so pruned. */
  pruned: boolean;
  deleted: number;
  reclaimedBytes: number;
}

interface DiskUsage {
  BuildCache?: { Size?: number; Shared?: boolean }[] | null;
}

interface PruneAnswer {
  CachesDeleted?: string[] | null;
  SpaceReclaimed?: number;
}

/** The build cache's size and number of records. @throws when the engine does not answer. */
export async function buildCacheUsage(docker: Docker): Promise<BuildCacheUsage> {
  const usage = (await docker.df()) as DiskUsage;
  const records = usage.BuildCache ?? [];
  return {
    bytes: records.reduce((sum, record) => sum + (record.Shared ? 0 : (record.Size ?? 0)), 0),
    entries: records.length,
  };
}

/**
 * Keeps the engine's BuildKit cache under `limitBytes`: when it holds more, asks the engine to prune it down to
 * the limit (`POST /build/prune?keep-storage=`), which removes the least recently used records not in use by a
 * running build (cache mounts included). Says what it found and did in one line to `onLine`. A limit of 0 turns
 * pruning off. The build cache is the engine's: pruning also affects builds run outside Swarmlet on it.
 * @throws when the engine does not answer or refuses the prune.
 */
export async function pruneBuildCache(
  docker: Docker,
  limitBytes: number,
  onLine: (line: string) => void,
): Promise<BuildCachePruneReport> {
  const before = await buildCacheUsage(docker);
  const report: BuildCachePruneReport = { before, limitBytes, pruned: false, deleted: 0, reclaimedBytes: 0 };
  if (limitBytes <= 0) {
    onLine(`build cache: ${formatSize(before.bytes)} in ${before.entries} records (no limit set)`);
    return report;
  }
  if (before.bytes <= limitBytes) {
    onLine(`build cache: ${formatSize(before.bytes)} of ${formatSize(limitBytes)} in ${before.entries} records`);
    return report;
  }
  const answer = (await engineRequest(docker, {
    path: '/build/prune?',
    method: 'POST',
    options: { 'keep-storage': limitBytes },
    statusCodes: { 200: true, 400: 'bad parameter', 500: 'server error' },
  })) as PruneAnswer;
  report.pruned = true;
  report.deleted = answer.CachesDeleted?.length ?? 0;
  report.reclaimedBytes = answer.SpaceReclaimed ?? 0;
  onLine(
    `build cache: ${formatSize(before.bytes)} is above the ${formatSize(limitBytes)} limit: pruned the ` +
      `${report.deleted} least recently used records, ${formatSize(report.reclaimedBytes)} reclaimed`,
  );
  return report;
}

/** Bytes in binary units, e.g. `1.5 GiB`. Pure. */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit] ?? ''}`;
}
