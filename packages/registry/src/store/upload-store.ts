import { randomUUID, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { createDigester, type Digest } from '../digest.js';
import { RegistryError } from '../errors.js';
import { bodyBytesReceived } from '../memory.js';
import { uploadDataPath, uploadPath, uploadStartedAtPath } from '../paths.js';
import { PathNotFoundError, type StorageDriver } from '../storage/driver.js';
import type { BlobStore } from './blob-store.js';

/** The state of an upload session. */
export interface UploadStatus {
  id: string;
  /** Bytes received so far. */
  size: number;
}

/** An inclusive byte range of a chunk, from `Content-Range`. */
export interface ChunkRange {
  start: number;
  end: number;
}

const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Blob uploads. Bytes stream into `_uploads/<id>/data` while their sha256 is computed on the way; completion
 * verifies the digest and renames the file into the blob store, so a partial upload is never visible. Requests
 * on one upload are serialised. After a restart the running hash is gone, and completion re-reads the file.
 */
export class UploadStore {
  private readonly hashes = new Map<string, { hash: Hash; size: number }>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly driver: StorageDriver,
    private readonly blobs: BlobStore,
  ) {}

  /** Starts an upload session in repository `name`. */
  async start(name: string): Promise<UploadStatus> {
    const id = randomUUID();
    await this.driver.putContent(uploadStartedAtPath(name, id), Buffer.from(new Date().toISOString()));
    await this.driver.putContent(uploadDataPath(name, id), Buffer.alloc(0));
    this.hashes.set(id, { hash: createDigester('sha256'), size: 0 });
    return { id, size: 0 };
  }

  /** The session's progress. @throws RegistryError BLOB_UPLOAD_UNKNOWN */
  async status(name: string, id: string): Promise<UploadStatus> {
    return { id, size: await this.size(name, id) };
  }

  /**
   * Appends a chunk. With `range`, the chunk must start where the upload stands, or the request is refused with
   * 416 RANGE_INVALID carrying the current `Range`. Resolves with the new status.
   */
  append(name: string, id: string, body: Readable, range?: ChunkRange): Promise<UploadStatus> {
    return this.serialised(id, async () => {
      const size = await this.size(name, id);
      if (range && range.start !== size) {
        body.resume();
        throw new RegistryError(
          'RANGE_INVALID',
          { expectedStart: size, start: range.start },
          { Range: rangeHeader(size), 'Docker-Upload-UUID': id },
          'chunk does not start where the upload stands',
        );
      }
      return { id, size: await this.write(name, id, size, body) };
    });
  }

  /**
   * Completes an upload with an optional last chunk: verifies `digest` against everything received and moves
   * the content into the blob store, linked to repository `name`. A mismatch cancels the upload.
   * @throws RegistryError DIGEST_INVALID, BLOB_UPLOAD_UNKNOWN, RANGE_INVALID, SIZE_INVALID
   */
  complete(name: string, id: string, digest: Digest, body?: Readable, range?: ChunkRange): Promise<UploadStatus> {
    return this.serialised(id, async () => {
      let size = await this.size(name, id);
      if (body) {
        if (range && range.start !== size) {
          body.resume();
          throw new RegistryError(
            'RANGE_INVALID',
            { expectedStart: size, start: range.start },
            { Range: rangeHeader(size) },
          );
        }
        size = await this.write(name, id, size, body);
      }
      const actual = await this.digestOf(name, id, digest.algorithm, size);
      if (actual !== digest.hex) {
        await this.cancel(name, id);
        throw new RegistryError('DIGEST_INVALID', { digest: digest.text, reason: 'the content has another digest' });
      }
      await this.blobs.commit(uploadDataPath(name, id), digest);
      await this.blobs.link(name, digest);
      await this.driver.delete(uploadPath(name, id));
      this.hashes.delete(id);
      return { id, size };
    });
  }

  /** Cancels an upload and removes what it received. @throws RegistryError BLOB_UPLOAD_UNKNOWN */
  async cancel(name: string, id: string): Promise<void> {
    await this.size(name, id);
    this.hashes.delete(id);
    await this.driver.delete(uploadPath(name, id));
  }

  private async write(name: string, id: string, size: number, body: Readable): Promise<number> {
    const state = this.hashes.get(id);
    const hash = state?.size === size ? state.hash : undefined;
    if (!hash) this.hashes.delete(id);
    let written: number;
    try {
      written = await this.driver.append(uploadDataPath(name, id), body, (chunk) => {
        hash?.update(chunk);
        bodyBytesReceived(chunk.length);
      });
    } catch (error) {
      this.hashes.delete(id);
      throw new RegistryError('BLOB_UPLOAD_INVALID', {
        reason: `the upload was interrupted: ${(error as Error).message}`,
      });
    }
    if (hash) this.hashes.set(id, { hash, size: written });
    return written;
  }

  private async digestOf(name: string, id: string, algorithm: Digest['algorithm'], size: number): Promise<string> {
    const state = this.hashes.get(id);
    if (algorithm === 'sha256' && state?.size === size) return state.hash.copy().digest('hex');
    const hash = createDigester(algorithm);
    for await (const chunk of await this.driver.reader(uploadDataPath(name, id))) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }

  private async size(name: string, id: string): Promise<number> {
    if (!UPLOAD_ID.test(id)) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', { id: id.slice(0, 100) });
    try {
      return (await this.driver.stat(uploadDataPath(name, id))).size;
    } catch (error) {
      if (error instanceof PathNotFoundError) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', { id });
      throw error;
    }
  }

  private serialised<T>(id: string, task: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(id) ?? Promise.resolve();
    const run = previous.then(task, task);
    const settled = run.catch(() => undefined);
    this.locks.set(id, settled);
    void settled.then(() => {
      if (this.locks.get(id) === settled) this.locks.delete(id);
    });
    return run;
  }
}

/** The `Range` header value for an upload of `size` bytes, as the CNCF registry writes it. */
export function rangeHeader(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}
