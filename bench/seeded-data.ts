import { createCipheriv, createHash } from 'node:crypto';

/** One mebibyte. */
export const MiB = 1024 * 1024;

/**
 * `size` pseudo-random bytes in chunks of `chunkSize` (the last one may be shorter), the same for the same seed:
 * the AES-128-CTR keystream under a key derived from the seed. Only one chunk is in memory at a time.
 */
export function* seededChunks(seed: string, size: number, chunkSize = MiB): Generator<Buffer> {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(Math.min(chunkSize, size));
  for (let left = size; left > 0; left -= chunkSize) {
    yield cipher.update(zeros.subarray(0, Math.min(chunkSize, left)));
  }
}

/** The `sha256:` digest of `seededChunks(seed, size)`, computed by streaming them. */
export function seededDigest(seed: string, size: number): string {
  const hash = createHash('sha256');
  for (const chunk of seededChunks(seed, size)) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
}

/** `seededChunks(seed, size)` as one buffer, for small blobs only. */
export function seededBytes(seed: string, size: number): Buffer {
  return Buffer.concat([...seededChunks(seed, size, size)]);
}

/** The `sha256:` digest of a buffer. */
export function digestOf(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}
