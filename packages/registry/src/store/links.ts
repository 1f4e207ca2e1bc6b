import { parseDigest, type Digest } from '../digest.js';
import { RegistryError } from '../errors.js';
import { PathNotFoundError, type StorageDriver } from '../storage/driver.js';

/** Writes a link file holding `digest`. */
export async function writeLink(driver: StorageDriver, path: string, digest: Digest): Promise<void> {
  await driver.putContent(path, Buffer.from(digest.text));
}

/** Reads a link file; undefined when it is missing or does not hold a valid digest. */
export async function readLink(driver: StorageDriver, path: string): Promise<Digest | undefined> {
  try {
    return parseDigest((await driver.getContent(path)).toString('utf8').trim());
  } catch (error) {
    if (error instanceof PathNotFoundError) return undefined;
    if (error instanceof RegistryError) return undefined;
    throw error;
  }
}

/** Whether `path` exists. */
export async function exists(driver: StorageDriver, path: string): Promise<boolean> {
  try {
    await driver.stat(path);
    return true;
  } catch (error) {
    if (error instanceof PathNotFoundError) return false;
    throw error;
  }
}

/** The children of a directory, or none when it is missing. */
export async function listOrEmpty(driver: StorageDriver, path: string): Promise<string[]> {
  try {
    return await driver.list(path);
  } catch (error) {
    if (error instanceof PathNotFoundError) return [];
    throw error;
  }
}
