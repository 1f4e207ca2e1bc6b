import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseRepoName } from './repo-name.js';

/**
 * Makes sure the bare repository for `rawName` exists under `reposDir` (as `<app>.git`), creating it with
 * `git init --bare` when missing. The name is validated first, so a refused name creates nothing.
 * Resolves with the app name and whether the repository was created now.
 * @throws RepoNameError for a refused name; an execa error when git fails.
 */
export async function ensureBareRepository(
  reposDir: string,
  rawName: string,
): Promise<{ app: string; path: string; created: boolean }> {
  const app = parseRepoName(rawName);
  const path = join(reposDir, `${app}.git`);
  if (await isDirectory(path)) return { app, path, created: false };
  await mkdir(reposDir, { recursive: true });
  await execa('git', ['init', '--quiet', '--bare', path]);
  return { app, path, created: true };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
