import { digestOf, parseDigest, type Digest } from '../digest.js';
import { RegistryError } from '../errors.js';
import { parseManifest, type ParsedManifest } from '../manifest.js';
import type { Reference } from '../names.js';
import { blobDataPath, manifestRevisionLinkPath, manifestRevisionsPath } from '../paths.js';
import { PathNotFoundError, type StorageDriver } from '../storage/driver.js';
import type { BlobStore } from './blob-store.js';
import { exists, listOrEmpty, writeLink } from './links.js';
import type { TagStore } from './tag-store.js';

/** A stored manifest. */
export interface StoredManifest {
  digest: Digest;
  body: Buffer;
  manifest: ParsedManifest;
}

/** How many references of a manifest are checked at once. */
const CHECK_BATCH = 16;

/** Runs `tasks` `CHECK_BATCH` at a time and resolves with their results in order. */
async function inBatches<T>(tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = [];
  for (let index = 0; index < tasks.length; index += CHECK_BATCH) {
    results.push(...(await Promise.all(tasks.slice(index, index + CHECK_BATCH).map((task) => task()))));
  }
  return results;
}

/** How many parsed manifests are kept in memory; manifests are immutable, so the cache never goes stale. */
const CACHE_ENTRIES = 2048;

/**
 * Manifests: content stored as a blob, made part of a repository by a link in `_manifests/revisions`, and
 * optionally tagged. A manifest is accepted only when every blob and manifest it references is in the
 * repository.
 */
export class ManifestStore {
  private readonly cache = new Map<string, StoredManifest>();

  constructor(
    private readonly driver: StorageDriver,
    private readonly blobs: BlobStore,
    private readonly tags: TagStore,
  ) {}

  /**
   * Stores a manifest under `reference` (a tag or the manifest's digest).
   * @throws RegistryError MANIFEST_INVALID, DIGEST_INVALID (the body does not have the digest in the URL),
   * MANIFEST_BLOB_UNKNOWN (a referenced blob or manifest is missing).
   */
  async put(
    name: string,
    reference: Reference,
    body: Buffer,
    contentType: string | undefined,
  ): Promise<StoredManifest> {
    const manifest = parseManifest(body, contentType);
    const byDigest = reference.digest;
    const digest = digestOf(body, byDigest?.algorithm ?? 'sha256');
    if (byDigest && byDigest.hex !== digest.hex) {
      throw new RegistryError('DIGEST_INVALID', { digest: byDigest.text, reason: 'the manifest has another digest' });
    }
    await this.checkReferences(name, manifest);
    await Promise.all([
      this.blobs.touch(digest).then(async (found) => {
        if (!found) await this.driver.putContent(blobDataPath(digest), body);
      }),
      writeLink(this.driver, manifestRevisionLinkPath(name, digest), digest),
    ]);
    if (reference.tag !== undefined) await this.tags.tag(name, reference.tag, digest);
    const stored = { digest, body, manifest };
    this.remember(stored);
    return stored;
  }

  /**
   * The manifest `reference` (tag or digest) names in repository `name`.
   * @throws RegistryError MANIFEST_UNKNOWN
   */
  async get(name: string, reference: Reference): Promise<StoredManifest> {
    const digest = reference.digest ?? (await this.tags.resolve(name, reference.tag));
    const stored = digest && (await this.getByDigest(name, digest));
    if (!stored) throw new RegistryError('MANIFEST_UNKNOWN', { reference: reference.tag ?? reference.digest.text });
    return stored;
  }

  /** The manifest with `digest` when it is part of repository `name`. */
  async getByDigest(name: string, digest: Digest): Promise<StoredManifest | undefined> {
    if (!(await exists(this.driver, manifestRevisionLinkPath(name, digest)))) return undefined;
    const cached = this.cache.get(digest.text);
    if (cached) return cached;
    let body: Buffer;
    try {
      body = await this.driver.getContent(blobDataPath(digest));
    } catch (error) {
      if (error instanceof PathNotFoundError) return undefined;
      throw error;
    }
    const stored = { digest, body, manifest: parseManifest(body, undefined) };
    this.remember(stored);
    return stored;
  }

  /**
   * Deletes a manifest by digest (with every tag pointing at it), or only a tag.
   * @throws RegistryError MANIFEST_UNKNOWN
   */
  async delete(name: string, reference: Reference): Promise<void> {
    const digest = reference.digest;
    if (digest === undefined) {
      await this.tags.untag(name, reference.tag);
      return;
    }
    if (!(await exists(this.driver, manifestRevisionLinkPath(name, digest)))) {
      throw new RegistryError('MANIFEST_UNKNOWN', { reference: digest.text });
    }
    for (const tag of await this.tags.pointingAt(name, digest)) await this.tags.untag(name, tag);
    await this.driver.delete(manifestRevisionLinkPath(name, digest).replace(/\/link$/, ''));
  }

  /** The digests of every manifest in repository `name`. */
  async revisions(name: string): Promise<Digest[]> {
    const digests: Digest[] = [];
    for (const algorithm of ['sha256', 'sha512']) {
      for (const hex of await listOrEmpty(this.driver, manifestRevisionsPath(name, algorithm))) {
        try {
          digests.push(parseDigest(`${algorithm}:${hex}`));
        } catch {
          continue;
        }
      }
    }
    return digests;
  }

  /**
   * Every referenced blob and manifest is touched before it is checked, so a garbage collection running
   * concurrently either sees the touch and keeps it, or has removed it already and the check fails.
   */
  private async checkReferences(name: string, manifest: ParsedManifest): Promise<void> {
    const present = await inBatches([
      ...manifest.blobs.map((digest) => async () => {
        await this.blobs.touch(digest);
        return this.blobs.stat(name, digest).then(
          () => undefined,
          (error: unknown) => {
            if (error instanceof RegistryError) return digest;
            throw error;
          },
        );
      }),
      ...manifest.manifests.map(({ digest }) => async () => {
        await this.blobs.touch(digest);
        return (await this.getByDigest(name, digest)) ? undefined : digest;
      }),
    ]);
    const missing = present.find((digest) => digest !== undefined);
    if (missing) throw new RegistryError('MANIFEST_BLOB_UNKNOWN', { digest: missing.text });
  }

  private remember(stored: StoredManifest): void {
    this.cache.delete(stored.digest.text);
    this.cache.set(stored.digest.text, stored);
    if (this.cache.size > CACHE_ENTRIES) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }
}
