import { validateAppName } from '@swarmlet/deployer';
import { CORE_REPOS } from './core-repos.js';

/**
 * What a key may do through the SSH door. `admin`: everything (every app, the core repositories, keys, nodes,
 * trust). `deployer`: push, fetch and run the app verbs on the listed apps only (a listed app that does not exist
 * yet may be created by a first push); never a core app, `keys`, `nodes` or `apps trust|untrust`.
 */
export type KeyRole = { role: 'admin' } | { role: 'deployer'; apps: readonly string[] };

/** The role of a key that has none recorded: every key of a keys file written before roles existed. */
export const ADMIN: KeyRole = { role: 'admin' };

/** A role that cannot be given as asked (an unknown role, missing or misplaced apps, a bad app name). */
export class KeyRoleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyRoleError';
  }
}

/**
 * Builds a role from the words a user typed: `role` is `admin` (the default when undefined) or `deployer`; `apps`
 * is a comma-separated list, required for a deployer and refused for an admin. Each app name must be a valid app
 * name (the deployer's rule) and not a core app; duplicates are dropped, the order is kept.
 * @throws KeyRoleError saying what to change.
 */
export function parseKeyRole(role: string | undefined, apps: string | undefined): KeyRole {
  if (role === undefined || role === 'admin') {
    if (apps !== undefined) throw new KeyRoleError('--apps goes with --role deployer: an admin key reaches every app');
    return ADMIN;
  }
  if (role !== 'deployer') {
    throw new KeyRoleError(`unknown role ${JSON.stringify(role.slice(0, 40))}: use --role admin or --role deployer`);
  }
  if (apps === undefined || apps.trim() === '') {
    throw new KeyRoleError('a deployer key needs the apps it may deploy: --apps APP[,APP...]');
  }
  return deployerOf(apps.split(',').map((name) => name.trim()));
}

/**
 * A deployer role for `apps`, each checked as {@link parseKeyRole} checks them.
 * @throws KeyRoleError naming the first bad app.
 */
export function deployerOf(apps: readonly string[]): KeyRole {
  if (apps.length === 0) throw new KeyRoleError('a deployer key needs at least one app');
  for (const app of apps) {
    try {
      validateAppName(app);
    } catch (error) {
      throw new KeyRoleError((error as Error).message);
    }
    if (isCoreApp(app)) throw new KeyRoleError(`${app} is a core app of the platform: only admin keys reach it`);
  }
  return { role: 'deployer', apps: [...new Set(apps)] };
}

/** Whether `app` is one of the platform's core apps (`registry`, `router`, `deployer`): admin keys only. */
export function isCoreApp(app: string): boolean {
  return (CORE_REPOS as readonly string[]).includes(app);
}

/** Whether a key of `role` may reach `app` (its repository and its app verbs). */
export function mayReachApp(role: KeyRole, app: string): boolean {
  return role.role === 'admin' || (!isCoreApp(app) && role.apps.includes(app));
}

/** The role in words, as `keys list` shows it and refusals name it: `admin` or `deployer of shop, blog`. */
export function describeRole(role: KeyRole): string {
  return role.role === 'admin' ? 'admin' : `deployer of ${role.apps.join(', ')}`;
}
