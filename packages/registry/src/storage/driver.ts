import type { Readable, Writable } from 'node:stream';

/**
 * The narrow storage driver the registry's stores are written against, modelled on the CNCF registry's.
 * Paths are absolute driver paths such as `/docker/registry/v2/blobs/…`, built only by `paths.ts`.
 * Every write that a reader could observe is atomic: content appears whole or not at all.
 */
export interface StorageDriver {
  /** The whole content at `path`. @throws PathNotFoundError */
  getContent(path: string): Promise<Buffer>;
  /** Replaces the content at `path` atomically, creating parent directories. */
  putContent(path: string, content: Buffer): Promise<void>;
  /** A stream of the content at `path` from byte `start` to byte `end` inclusive. @throws PathNotFoundError */
  reader(path: string, start?: number, end?: number): Promise<Readable>;
  /**
   * Writes the content at `path` from byte `start` to byte `end` inclusive (default: to its end) into `sink` and
   * resolves once `sink` has taken every byte; `sink` is not ended. Rejects with code `ERR_STREAM_PREMATURE_CLOSE`
   * when `sink` closes first. Holds a bounded amount of memory whatever the size. @throws PathNotFoundError
   */
  copyTo(path: string, sink: Writable, start?: number, end?: number): Promise<void>;
  /**
   * Appends `source` to the file at `path` (created when missing), handing each chunk to `onChunk` as it is
   * written. Resolves with the file's new size. The file is private to one upload, never read by clients.
   */
  append(path: string, source: Readable, onChunk?: (chunk: Buffer) => void): Promise<number>;
  /** Size and kind of the entry at `path`. @throws PathNotFoundError */
  stat(path: string): Promise<FileInfo>;
  /** The names of the direct children of directory `path`, sorted. @throws PathNotFoundError */
  list(path: string): Promise<string[]>;
  /** Renames `source` to `destination` atomically, creating parent directories; replaces an existing file. */
  move(source: string, destination: string): Promise<void>;
  /** Removes `path` and everything below it. Missing paths are not an error. */
  delete(path: string): Promise<void>;
  /** Sets the modification time of `path` to now. @throws PathNotFoundError */
  touch(path: string): Promise<void>;
}

/** What {@link StorageDriver.stat} tells. */
export interface FileInfo {
  size: number;
  modifiedAt: Date;
  isDirectory: boolean;
}

/** A driver path that does not exist. */
export class PathNotFoundError extends Error {
  constructor(readonly path: string) {
    super(`path not found: ${path}`);
    this.name = 'PathNotFoundError';
  }
}
