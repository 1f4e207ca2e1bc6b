import { realpath } from 'node:fs/promises';
import { isAbsolute, posix, relative, resolve, sep } from 'node:path';

/** A path named by a project (in its compose file or environment) that leads outside its work tree. */
export class OutsideTreeError extends Error {
  constructor(readonly path: string) {
    super(`${JSON.stringify(path)} leads outside the repository`);
    this.name = 'OutsideTreeError';
  }
}

/**
 * Resolves `path`, written relative to the work tree `tree` with `/` separators, to where it really is: an
 * absolute path whose symbolic links are followed, inside the tree's own real path. Resolves with `undefined`
 * when nothing is there (a dangling link included). The checks come before anything at the path is read.
 * @throws OutsideTreeError when `path` is absolute, empty, holds a NUL byte, climbs out with `..`, or reaches
 * outside through a symbolic link.
 */
export async function resolveInTree(tree: string, path: string): Promise<string | undefined> {
  const normal = posix.normalize(path);
  if (path === '' || path.includes('\0') || isAbsolute(path) || normal === '..' || normal.startsWith('../')) {
    throw new OutsideTreeError(path);
  }
  const root = await realpath(tree);
  let real: string;
  try {
    real = await realpath(resolve(root, normal));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
  if (!isWithin(root, real)) throw new OutsideTreeError(path);
  return real;
}

/** Whether the absolute path `path` is `root` itself or lies below it. */
export function isWithin(root: string, path: string): boolean {
  const rest = relative(root, path);
  return rest === '' || (!isAbsolute(rest) && rest !== '..' && !rest.startsWith(`..${sep}`));
}
