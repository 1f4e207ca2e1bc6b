import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDotenv } from './dotenv.js';
import { sourceEntrypoint } from './entrypoint.js';

/**
 * A deploy's environment, in the order the platform promises, later winning: the platform's variables
 * (`platform`, which also carries `PATH`), then the project's `.env` (data, expanded against what came before),
 * then what the project's `entrypoint` exports when sourced with all of that. Nothing else of this process's
 * environment is in it.
 * @throws DotenvError, InterpolationError or EntrypointError, each naming the file and the cause.
 */
export async function assembleEnvironment(
  tree: string,
  platform: Readonly<Record<string, string>>,
  entrypointTimeoutMs: number,
  onLine: (line: string) => void,
): Promise<Record<string, string>> {
  let dotenv = '';
  try {
    dotenv = await readFile(join(tree, '.env'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const withFile = { ...platform, ...parseDotenv(dotenv, platform) };
  return sourceEntrypoint(tree, withFile, entrypointTimeoutMs, onLine);
}
