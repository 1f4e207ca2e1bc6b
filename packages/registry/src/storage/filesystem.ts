import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, utimes, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import { Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BufferPool } from './buffer-pool.js';
import { PathNotFoundError, type FileInfo, type StorageDriver } from './driver.js';

/**
 * Bytes read per chunk when streaming a blob out. Larger chunks cost fewer trips through the event loop: measured
 * on this machine with curl, 64 KiB served ~0.4 GB/s, 1 MiB ~1.0 GB/s and 4 MiB ~1.1–1.4 GB/s, while memory per
 * concurrent download stays bounded by a chunk or two.
 */
const READ_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * {@link FilesystemDriver.copyTo} reads 2 MiB at a time into pooled buffers, with two chunks in flight per copy
 * (one being read while the other is written). Reusing the buffers instead of allocating one per chunk (as a
 * file stream does) keeps memory flat and spares the page faults of fresh memory: measured with curl on this
 * machine, the peak RSS of a process serving 4 × 256 MiB at once fell from ~158 MiB (4 MiB stream chunks) or
 * ~90 MiB (1 MiB) to ~65 MiB. The registry's CPU time for those 1 GiB was 0.98 s with 256 KiB chunks, 0.69 s with
 * 1 MiB, 0.55 s with 2 MiB and 0.50 s with 4 MiB (the CNCF registry's: 0.67 s); 2 MiB holds 16 MiB for 4 pulls.
 */
const COPY_CHUNK_BYTES = 2 * 1024 * 1024;
const COPY_IN_FLIGHT = 2;
const copyBuffers = new BufferPool(COPY_CHUNK_BYTES, 8);

/**
 * How much of an upload waits in memory for the disk. Small, since the socket keeps the rest: with 1 MiB, 4
 * concurrent 256 MiB pushes raised the peak RSS by ~18 MiB, with 256 KiB by ~5 MiB, without slowing pushes in
 * the benchmark.
 */
const APPEND_BUFFER_BYTES = 256 * 1024;

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

  async copyTo(path: string, sink: Writable, start = 0, end?: number): Promise<void> {
    const handle = await notFoundAs(path, open(this.full(path), 'r'));
    try {
      await copyOut(handle, sink, start, end ?? (await handle.stat()).size - 1);
    } finally {
      await handle.close();
    }
  }

  async append(path: string, source: Readable, onChunk?: (chunk: Buffer) => void): Promise<number> {
    const target = this.full(path);
    await mkdir(dirname(target), { recursive: true });
    const sink = createWriteStream(target, { flags: 'a', highWaterMark: APPEND_BUFFER_BYTES });
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

async function copyOut(handle: FileHandle, sink: Writable, start: number, last: number): Promise<void> {
  let onClose = (): void => undefined;
  const closed = new Promise<never>((_resolve, reject) => {
    onClose = () => {
      reject(Object.assign(new Error('the client closed the connection'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    };
    if (sink.destroyed) onClose();
    else sink.once('close', onClose);
  });
  closed.catch(() => undefined);
  const writes: Promise<Buffer>[] = [];
  try {
    for (let position = start; position <= last;) {
      const earlier = writes.length < COPY_IN_FLIGHT ? undefined : writes.shift();
      const buffer = earlier ? await Promise.race([earlier, closed]) : copyBuffers.take();
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, last - position + 1), position);
      if (bytesRead === 0) throw new Error(`the file ended at byte ${position}, before byte ${last}`);
      position += bytesRead;
      const written = writeChunk(sink, buffer, bytesRead);
      written.catch(() => undefined);
      writes.push(written);
    }
    for (const written of writes) copyBuffers.give(await Promise.race([written, closed]));
  } finally {
    sink.off('close', onClose);
  }
}

/** Writes the first `length` bytes of `buffer`; resolves with `buffer` once `sink` no longer needs it. */
function writeChunk(sink: Writable, buffer: Buffer, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    sink.write(length === buffer.length ? buffer : buffer.subarray(0, length), (error) => {
      if (error) reject(error);
      else resolve(buffer);
    });
  });
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
