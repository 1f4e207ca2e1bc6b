import { readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import dockerignoreModule from '@balena/dockerignore';
import tar from 'tar-fs';

/** The package's CommonJS export is the factory itself, while its typings describe it as `default`. */
const dockerignore = dockerignoreModule as unknown as typeof dockerignoreModule.default;

/** A build context or Dockerfile path that leaves the repository, or does not exist. */
export class BuildContextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuildContextError';
  }
}

/**
 * A tar stream of the build context `context` (relative to the work tree `tree`) as `docker build` would send
 * it: files matched by the context's `.dockerignore` are left out, except the Dockerfile and `.dockerignore`
 * themselves, which Docker always sends. The context and the Dockerfile must lie inside the tree, after
 * following symbolic links.
 * @throws BuildContextError when either leaves the tree or is missing.
 */
export async function buildContextTar(
  tree: string,
  context: string,
  dockerfile: string,
): Promise<NodeJS.ReadableStream> {
  const root = await realpath(tree);
  const contextDir = await inside(root, join(root, context), `build context ${context}`);
  if (!(await stat(contextDir)).isDirectory())
    throw new BuildContextError(`build context ${context} is not a directory`);
  const dockerfilePath = await inside(root, join(contextDir, dockerfile), `Dockerfile ${dockerfile}`);
  const keep = new Set([relative(contextDir, dockerfilePath), '.dockerignore']);
  let patterns = '';
  try {
    patterns = await readFile(join(contextDir, '.dockerignore'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const rules = dockerignore().add(patterns.split(/\r?\n/));
  return tar.pack(contextDir, {
    ignore: (name: string) => {
      const path = relative(contextDir, name).split(sep).join('/');
      return !keep.has(path) && rules.ignores(path);
    },
  });
}

async function inside(root: string, path: string, what: string): Promise<string> {
  const lexical = relative(root, path);
  if (lexical.startsWith('..') || isAbsolute(lexical)) throw new BuildContextError(`${what} is outside the repository`);
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    throw new BuildContextError(`${what} does not exist in the repository`);
  }
  const rest = relative(root, real);
  if (rest.startsWith('..') || isAbsolute(rest)) throw new BuildContextError(`${what} is outside the repository`);
  return real;
}
