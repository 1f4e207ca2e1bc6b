import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PathNotFoundError, type FileInfo, type StorageDriver } from './driver.js';

/**
 * Bytes read per chunk when streaming a blob out. Larger chunks cost fewer trips through the event loop: measured
 * on this machine with curl, 64 KiB served ~0.4 GB/s, 1 MiB ~1.0 GB/s and 4 MiB ~1.1–1.4 GB/s, while memory per
 * concurrent download stays bounded by a chunk or two.
 */
const READ_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * The storage driver over a local directory, laid out exactly as the CNCF registry's `filesystem` driver lays
 * out its `rootdirectory`, so either registry serves the other's data. Atomic writes go to a temporary file
 * beside the target, then `rename`.
 */
export class FilesystemDriver implements StorageDriver {
  constructor(private readonly root: string) {}

  async getContent(path: string): Promise<Buffer> {
    return notFoundAs(path, readFile(this.full(path)));
  }

  async putContent(path: string, content: Buffer): Promise<void> {
    const target = this.full(path);
    await mkdir(dirname(target), { recursive: true });
    const temporary = `${target}.${randomUUID()}.tmp`;
    try {
      await writeFile(temporary, content);
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  async reader(path: string, start = 0, end?: number): Promise<Readable> {
    const full = this.full(path);
    await this.stat(path);
    return createReadStream(full, { start, end, highWaterMark: READ_CHUNK_BYTES });
  }

  async append(path: string, source: Readable, onChunk?: (chunk: Buffer) => void): Promise<number> {
    const target = this.full(path);
    await mkdir(dirname(target), { recursive: true });
    const sink = createWriteStream(target, { flags: 'a', highWaterMark: 1 << 20 });
    if (onChunk) {
      const tap = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          onChunk(chunk);
          done(null, chunk);
        },
      });
      await pipeline(source, tap, sink);
    } else {
      await pipeline(source, sink);
    }
    return (await stat(target)).size;
  }

  async stat(path: string): Promise<FileInfo> {
    const info = await notFoundAs(path, stat(this.full(path)));
    return { size: info.size, modifiedAt: info.mtime, isDirectory: info.isDirectory() };
  }

  async list(path: string): Promise<string[]> {
    const names = await notFoundAs(path, readdir(this.full(path)));
    return names.sort();
  }

  async move(source: string, destination: string): Promise<void> {
    const target = this.full(destination);
    await mkdir(dirname(target), { recursive: true });
    await notFoundAs(source, rename(this.full(source), target));
  }

  async delete(path: string): Promise<void> {
    await rm(this.full(path), { recursive: true, force: true });
  }

  async touch(path: string): Promise<void> {
    const now = new Date();
    await notFoundAs(path, utimes(this.full(path), now, now));
  }

  private full(path: string): string {
    if (!path.startsWith('/') || normalize(path) !== path || path.includes('\0')) {
      throw new Error(`refusing a storage path that is not canonical: ${JSON.stringify(path)}`);
    }
    return join(this.root, path);
  }
}

async function notFoundAs<T>(path: string, operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new PathNotFoundError(path);
    throw error;
  }
}
