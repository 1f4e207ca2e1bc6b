import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { replaceFile } from '@swarmlet/common';
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

/**
 * Finds the existing bare repository for `rawName` under `reposDir`. Resolves undefined when there is none.
 * @throws RepoNameError for a refused name, before anything on disk is looked at.
 */
export async function findBareRepository(
  reposDir: string,
  rawName: string,
): Promise<{ app: string; path: string } | undefined> {
  const app = parseRepoName(rawName);
  const path = join(reposDir, `${app}.git`);
  return (await isDirectory(path)) ? { app, path } : undefined;
}

/** How git runs the pre-receive hook program: `node` and the compiled `hook.js`, both absolute paths. */
export interface HookCommand {
  node: string;
  script: string;
}

/** The text of the `pre-receive` hook that runs `command`, its paths quoted for `sh`. */
export function preReceiveHookScript(command: HookCommand): string {
  return [
    '#!/bin/sh',
    '# Installed by swarmlet-receiver and rewritten when it changes: deploys a push to the deploy branch first.',
    `exec ${shellQuote(command.node)} ${shellQuote(command.script)}`,
    '',
  ].join('\n');
}

/**
 * Makes `hooks/pre-receive` of the bare repository at `repoPath` the hook for `command` (mode 0755), replacing it
 * atomically when its text differs, so a repository made elsewhere (seeded, restored, older) gets it on its next
 * push. Resolves true when the file was written.
 */
export async function installPreReceiveHook(repoPath: string, command: HookCommand): Promise<boolean> {
  const path = join(repoPath, 'hooks', 'pre-receive');
  const script = preReceiveHookScript(command);
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (current === script) return false;
  await replaceFile(path, script, 0o755);
  return true;
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** Whether `path` is a directory (false when it does not exist). */
export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
