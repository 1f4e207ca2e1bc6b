import { randomBytes } from 'node:crypto';
import { link, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Replaces `path` with `content` atomically: the content goes to a temporary file beside it, created with `mode`
 * (so it is never readable more widely, even for a moment), then renamed over `path`. A reader sees the old or the
 * new content, never a mix. The directory is created (mode 0700) when missing.
 */
export async function replaceFile(path: string, content: string, mode: number): Promise<void> {
  const temp = await writeTemp(path, content, mode);
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * Creates `path` with `content` and `mode` unless it exists, atomically: a concurrent creator and a reader never see
 * a partial file. Resolves true when this call created it, false when it already existed.
 */
export async function createFileOnce(path: string, content: string, mode: number): Promise<boolean> {
  const temp = await writeTemp(path, content, mode);
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(temp, { force: true });
  }
}

async function writeTemp(path: string, content: string, mode: number): Promise<string> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  await writeFile(temp, content, { mode, flag: 'wx' });
  return temp;
}
