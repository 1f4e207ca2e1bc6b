import { parseDigest, type Digest } from './digest.js';
import { blobDataPath, blobsRoot, layerLinkPath, manifestRevisionLinkPath } from './paths.js';
import { listRepositories } from './store/catalog.js';
import { listOrEmpty } from './store/links.js';
import type { Stores } from './stores.js';
import { PathNotFoundError } from './storage/driver.js';

/** How a garbage collection runs. */
export interface GarbageCollectOptions {
  /** Report what would be removed, remove nothing. */
  dryRun: boolean;
  /** Also remove manifests that no tag reaches (directly, through an index, or as a referrer). */
  deleteUntagged: boolean;
  /**
   * Blobs and manifests written or referenced less than this many milliseconds before the run started are kept
   * even when nothing reaches them: they may belong to a push in progress (its layers are uploaded before its
   * manifest).
   */
  gracePeriodMs: number;
  /** The run's start; defaults to now. */
  now?: Date;
}

/** A blob removed (or, in a dry run, to be removed). */
export interface CollectedBlob {
  digest: string;
  size: number;
}

/** What a garbage collection found and did. */
export interface GarbageCollectReport {
  dryRun: boolean;
  /** Manifests removed from repositories (only with `deleteUntagged`). */
  manifests: { repository: string; digest: string }[];
  blobs: CollectedBlob[];
  /** Bytes freed (or that a real run would free). */
  freedBytes: number;
  /** Unreachable blobs kept because they are younger than the grace period or were touched during the run. */
  kept: CollectedBlob[];
}

/**
 * Mark and sweep over the registry's storage. Marks every manifest that is a root (every manifest, or with
 * `deleteUntagged` only tagged ones), everything those reach through indexes, and every manifest whose
 * `subject` is marked (referrers), with the config and layer blobs of each; then removes unmarked manifests
 * (with `deleteUntagged`) and unmarked blobs, with the repository links to them.
 *
 * Safe while the registry serves pushes: the registry touches a blob's content whenever it links or references
 * it, and a blob is only removed when its content was last modified before the run started (less the grace
 * period). Removal first renames the content aside, checks its modification time again, and puts it back if
 * it was touched meanwhile; a manifest push racing with that removal fails its reference check rather than
 * storing a manifest with a missing blob. Repository links are removed only when they too predate the run.
 */
export async function garbageCollect(stores: Stores, options: GarbageCollectOptions): Promise<GarbageCollectReport> {
  const started = options.now ?? new Date();
  const cutoff = started.getTime() - options.gracePeriodMs;
  const marked = new Set<string>();
  const unreachableManifests: { repository: string; digest: Digest }[] = [];
  const repositories = await listRepositories(stores.driver);

  for (const repository of repositories) {
    const revisions = await stores.manifests.revisions(repository);
    const roots = options.deleteUntagged ? await taggedDigests(stores, repository) : revisions;
    const reached = await markRepository(stores, repository, roots, revisions, marked);
    if (options.deleteUntagged) {
      for (const digest of revisions) {
        if (!reached.has(digest.text)) unreachableManifests.push({ repository, digest });
      }
    }
  }

  const report: GarbageCollectReport = { dryRun: options.dryRun, manifests: [], blobs: [], freedBytes: 0, kept: [] };
  for (const { repository, digest } of unreachableManifests) {
    const linkPath = manifestRevisionLinkPath(repository, digest);
    const info = await stores.driver.stat(linkPath).catch(() => undefined);
    if (!info || info.modifiedAt.getTime() >= cutoff) continue;
    if (!options.dryRun) await stores.driver.delete(linkPath.replace(/\/link$/, ''));
    report.manifests.push({ repository, digest: digest.text });
  }

  for (const digest of await allBlobs(stores)) {
    if (marked.has(digest.text)) continue;
    const info = await stores.driver.stat(blobDataPath(digest)).catch(() => undefined);
    if (!info) continue;
    const blob = { digest: digest.text, size: info.size };
    if (info.modifiedAt.getTime() >= cutoff) {
      report.kept.push(blob);
      continue;
    }
    if (!options.dryRun && !(await removeBlob(stores, digest, cutoff, repositories))) {
      report.kept.push(blob);
      continue;
    }
    report.blobs.push(blob);
    report.freedBytes += blob.size;
  }
  return report;
}

async function taggedDigests(stores: Stores, repository: string): Promise<Digest[]> {
  const tags = await stores.tags.list(repository).catch(() => []);
  const digests = await Promise.all(tags.map((tag) => stores.tags.resolve(repository, tag)));
  return digests.filter((digest): digest is Digest => digest !== undefined);
}

async function markRepository(
  stores: Stores,
  repository: string,
  roots: Digest[],
  revisions: Digest[],
  marked: Set<string>,
): Promise<Set<string>> {
  const reached = new Set<string>();
  const pending = [...roots];
  const subjects = new Map<string, Digest[]>();
  for (const digest of revisions) {
    const subject = (await stores.manifests.getByDigest(repository, digest).catch(() => undefined))?.manifest.subject;
    if (subject) subjects.set(subject.digest.text, [...(subjects.get(subject.digest.text) ?? []), digest]);
  }
  for (let digest = pending.pop(); digest !== undefined; digest = pending.pop()) {
    if (reached.has(digest.text)) continue;
    reached.add(digest.text);
    marked.add(digest.text);
    const stored = await stores.manifests.getByDigest(repository, digest).catch(() => undefined);
    if (stored) {
      for (const blob of stored.manifest.blobs) marked.add(blob.text);
      pending.push(...stored.manifest.manifests.map((entry) => entry.digest));
    }
    pending.push(...(subjects.get(digest.text) ?? []));
  }
  return reached;
}

async function allBlobs(stores: Stores): Promise<Digest[]> {
  const digests: Digest[] = [];
  for (const algorithm of await listOrEmpty(stores.driver, blobsRoot)) {
    for (const prefix of await listOrEmpty(stores.driver, `${blobsRoot}/${algorithm}`)) {
      for (const hex of await listOrEmpty(stores.driver, `${blobsRoot}/${algorithm}/${prefix}`)) {
        try {
          digests.push(parseDigest(`${algorithm}:${hex}`));
        } catch {
          continue;
        }
      }
    }
  }
  return digests;
}

async function removeBlob(stores: Stores, digest: Digest, cutoff: number, repositories: string[]): Promise<boolean> {
  const dataPath = blobDataPath(digest);
  const aside = `${dataPath}.collecting`;
  try {
    await stores.driver.move(dataPath, aside);
  } catch (error) {
    if (error instanceof PathNotFoundError) return false;
    throw error;
  }
  if ((await stores.driver.stat(aside)).modifiedAt.getTime() >= cutoff) {
    await stores.driver.move(aside, dataPath);
    return false;
  }
  await stores.driver.delete(aside);
  for (const repository of repositories) {
    const link = layerLinkPath(repository, digest);
    const info = await stores.driver.stat(link).catch(() => undefined);
    if (info && info.modifiedAt.getTime() < cutoff) await stores.driver.delete(link.replace(/\/link$/, ''));
  }
  return true;
}
