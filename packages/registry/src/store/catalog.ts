import { repositoriesRoot } from '../paths.js';
import type { StorageDriver } from '../storage/driver.js';
import { listOrEmpty } from './links.js';

/**
 * Every repository name in the registry, sorted by path component as the CNCF registry sorts them. A directory
 * below `repositories/` is a repository when it holds `_layers` or `_manifests`; `_`-prefixed directories are
 * never descended into.
 */
export async function listRepositories(driver: StorageDriver): Promise<string[]> {
  const names: string[] = [];
  const visit = async (relative: string): Promise<void> => {
    const children = await listOrEmpty(driver, relative ? `${repositoriesRoot}/${relative}` : repositoriesRoot);
    if (relative && (children.includes('_layers') || children.includes('_manifests'))) names.push(relative);
    for (const child of children) {
      if (child.startsWith('_')) continue;
      await visit(relative ? `${relative}/${child}` : child);
    }
  };
  await visit('');
  return names.sort(comparePaths);
}

/** Orders repository names component by component (`a/b` before `a-b`), as the CNCF registry does. */
export function comparePaths(left: string, right: string): number {
  const a = left.split('/');
  const b = right.split('/');
  for (let index = 0; index < Math.min(a.length, b.length); index++) {
    const x = a[index] ?? '';
    const y = b[index] ?? '';
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.length - b.length;
}
