import type { Writable } from 'node:stream';
import type { Digest } from '../digest.js';
import { RegistryError } from '../errors.js';
import { blobDataPath, layerLinkPath } from '../paths.js';
import { PathNotFoundError, type StorageDriver } from '../storage/driver.js';
import { exists, writeLink } from './links.js';

/** A blob as the API describes it. */
export interface BlobDescriptor {
  digest: Digest;
  size: number;
}

/**
 * Blobs: content stored once under `blobs/`, made part of a repository by a link in its `_layers`. A blob is
 * visible in a repository only when both the link and the content exist.
 */
export class BlobStore {
  constructor(private readonly driver: StorageDriver) {}

  /** The blob's size when its content exists anywhere in the registry. */
  async statGlobal(digest: Digest): Promise<BlobDescriptor | undefined> {
    try {
      const info = await this.driver.stat(blobDataPath(digest));
      return info.isDirectory ? undefined : { digest, size: info.size };
    } catch (error) {
      if (error instanceof PathNotFoundError) return undefined;
      throw error;
    }
  }

  /** The blob as seen from repository `name`. @throws RegistryError BLOB_UNKNOWN */
  async stat(name: string, digest: Digest): Promise<BlobDescriptor> {
    const [linked, descriptor] = await Promise.all([
      exists(this.driver, layerLinkPath(name, digest)),
      this.statGlobal(digest),
    ]);
    if (!linked || !descriptor) throw new RegistryError('BLOB_UNKNOWN', { digest: digest.text });
    return descriptor;
  }

  /**
   * Writes the blob's bytes `start`..`end` (inclusive) into `sink` (see {@link StorageDriver.copyTo}); the caller
   * checked that the blob is part of the repository.
   * @throws RegistryError BLOB_UNKNOWN when its content is gone
   */
  async copyTo(digest: Digest, sink: Writable, start?: number, end?: number): Promise<void> {
    try {
      await this.driver.copyTo(blobDataPath(digest), sink, start, end);
    } catch (error) {
      if (error instanceof PathNotFoundError) throw new RegistryError('BLOB_UNKNOWN', { digest: digest.text });
      throw error;
    }
  }

  /** Makes an existing blob part of repository `name`, marking it as just referenced (see {@link touch}). */
  async link(name: string, digest: Digest): Promise<void> {
    await this.touch(digest);
    await writeLink(this.driver, layerLinkPath(name, digest), digest);
  }

  /**
   * Marks a blob as just referenced by setting its content's modification time to now; garbage collection never
   * removes a blob touched after it started. Resolves false when the content does not exist.
   */
  async touch(digest: Digest): Promise<boolean> {
    try {
      await this.driver.touch(blobDataPath(digest));
      return true;
    } catch (error) {
      if (error instanceof PathNotFoundError) return false;
      throw error;
    }
  }

  /** Removes the blob from repository `name` (its content stays until garbage collection). @throws BLOB_UNKNOWN */
  async unlink(name: string, digest: Digest): Promise<void> {
    await this.stat(name, digest);
    await this.driver.delete(layerLinkPath(name, digest).replace(/\/link$/, ''));
  }

  /**
   * Moves verified content from `source` into the blob store under `digest`. When the blob exists already (a
   * concurrent push of the same content), the identical content simply replaces it atomically.
   */
  async commit(source: string, digest: Digest): Promise<void> {
    await this.driver.move(source, blobDataPath(digest));
  }
}
