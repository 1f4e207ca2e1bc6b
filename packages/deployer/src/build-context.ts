import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import dockerignoreModule from '@balena/dockerignore';
import tar from 'tar-fs';
import { isWithin, OutsideTreeError, resolveInTree } from './tree-path.js';

/** The package's CommonJS export is the factory itself, while its typings describe it as `default`. */
const dockerignore = dockerignoreModule as unknown as typeof dockerignoreModule.default;

/** A build context or Dockerfile that leaves the repository, is missing, or is not what it should be. */
export class BuildContextError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BuildContextError';
  }
}

/** A build context ready for the Engine API's build. */
export interface BuildContext {
  /** The context as a tar stream. */
  tar: NodeJS.ReadableStream;
  /** The Dockerfile's path inside the tar: the build's `dockerfile` parameter. */
  dockerfile: string;
  /** The paths in the tar, in order (directories included, the Dockerfile added from outside too). */
  entries: string[];
}

/**
 * Packs the build context `context` (a directory relative to the work tree `tree`) as `docker build` sends it:
 * the context's `.dockerignore` is applied with Docker's rules (case-sensitive patterns, `!` exceptions, a
 * directory left out whole unless an exception names something below it); the Dockerfile and `.dockerignore`
 * are always sent, as Docker does. `dockerfile` is relative to the context; one outside the context (but inside
 * the tree) is added at the tar's root as `.dockerfile.<digest of its content>`, so its name stays the same
 * from one deploy to the next and the build cache holds. Entries are sorted, owned by root, with their modes as
 * they are on disk; symbolic links are sent as links, never followed.
 * @throws BuildContextError when the context or the Dockerfile leads outside the tree (also through a
 * symbolic link), is missing, or is not a directory / a file.
 */
export async function packBuildContext(tree: string, context: string, dockerfile: string): Promise<BuildContext> {
  const contextDir = await locate(tree, context, `build context ${context}`);
  if (!(await stat(contextDir)).isDirectory()) {
    throw new BuildContextError(`build context ${context} is not a directory`);
  }
  const dockerfileWhat = `Dockerfile ${dockerfile} (in build context ${context})`;
  const dockerfilePath = await locate(tree, posix.join(context, dockerfile), dockerfileWhat);
  if (!(await stat(dockerfilePath)).isFile()) throw new BuildContextError(`${dockerfileWhat} is not a file`);
  const inContext = isWithin(contextDir, dockerfilePath);
  const outsideContent = inContext ? undefined : await readFile(dockerfilePath);
  const dockerfileName = outsideContent
    ? `.dockerfile.${createHash('sha256').update(outsideContent).digest('hex').slice(0, 16)}`
    : relative(contextDir, dockerfilePath).split(sep).join('/');
  const ignoreFile = await resolveInTree(tree, posix.join(context, '.dockerignore')).catch((error: unknown) => {
    if (error instanceof OutsideTreeError)
      throw new BuildContextError(`${context}/.dockerignore leads outside the repository`);
    throw error;
  });
  const patterns = [
    ...(ignoreFile === undefined ? [] : (await readFile(ignoreFile, 'utf8')).split(/\r?\n/)),
    '!.dockerignore',
    ...(inContext ? [`!${dockerfileName}`] : []),
  ];
  const entries = await selectEntries(contextDir, patterns);
  const options: tar.PackOptions & { umask: number } = {
    entries,
    ignore: () => true,
    umask: 0,
    map: (header) => ({ ...header, uid: 0, gid: 0 }),
    finalize: outsideContent === undefined,
    finish: (pack) => {
      if (outsideContent === undefined) return;
      pack.entry(
        { name: dockerfileName, size: outsideContent.length, mode: 0o644, mtime: new Date(0) },
        outsideContent,
      );
      pack.finalize();
    },
  };
  return {
    tar: tar.pack(contextDir, options),
    dockerfile: dockerfileName,
    entries: outsideContent ? [...entries, dockerfileName] : entries,
  };
}

async function locate(tree: string, path: string, what: string): Promise<string> {
  let real: string | undefined;
  try {
    real = await resolveInTree(tree, path);
  } catch (error) {
    if (error instanceof OutsideTreeError) throw new BuildContextError(`${what} leads outside the repository`);
    throw error;
  }
  if (real === undefined) throw new BuildContextError(`${what} does not exist in the repository`);
  return real;
}

/**
 * The context's paths that Docker sends, sorted as Docker walks them: files and links not excluded, directories
 * not excluded; an excluded directory is entered (without sending its own entry) only when an exception pattern
 * starts with its path.
 */
async function selectEntries(contextDir: string, patterns: string[]): Promise<string[]> {
  const rules = dockerignore({ ignorecase: false }).add(patterns);
  const exceptions = patterns
    .map((line) => line.trim())
    .filter((line) => line.startsWith('!'))
    .map((line) => posix.normalize(line.slice(1).trim()).replace(/^\//, ''));
  const selected: string[] = [];
  const walk = async (prefix: string): Promise<void> => {
    const children = await readdir(join(contextDir, prefix), { withFileTypes: true });
    children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const child of children) {
      const path = prefix ? `${prefix}/${child.name}` : child.name;
      const excluded = rules.ignores(path);
      if (child.isDirectory()) {
        if (!excluded) selected.push(path);
        if (!excluded || exceptions.some((exception) => `${exception}/`.startsWith(`${path}/`))) await walk(path);
      } else if ((child.isFile() || child.isSymbolicLink()) && !excluded) {
        selected.push(path);
      }
    }
  };
  await walk('');
  return selected;
}
