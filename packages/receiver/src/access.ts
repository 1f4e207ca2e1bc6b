import { describeRole, isCoreApp, mayReachApp, type KeyRole } from './key-role.js';
import type { GitService } from './server.js';

/**
 * What a platform command touches, read from its words (verb first):
 * - `open`: `help`, for every key;
 * - `listing`: `apps [--json]`, for every key (a deployer sees its own apps only);
 * - `app`: an app verb on the app at `words[appAt]` (`status APP`, `config set APP …`, `domains add APP HOST`, …;
 *   `config` with any action, since a wrong one only gets its usage);
 * - `admin`: everything else: `keys`, `nodes`, `apps trust|untrust APP`, and any verb this table does not know,
 *   so a verb added later is for admins until it is classified here.
 */
export type CommandScope = { kind: 'open' } | { kind: 'listing' } | { kind: 'app'; appAt: number } | { kind: 'admin' };

/** The app verbs whose app is the first word after the verb. */
const APP_FIRST = new Set([
  'status',
  'logs',
  'scale',
  'restart',
  'deploys',
  'rollback',
  'redeploy',
  'destroy',
  'cancel',
]);
const DOMAIN_ACTIONS = new Set(['add', 'remove']);

/** Classifies a platform command by its words (see {@link CommandScope}). Pure. */
export function commandScope(words: readonly string[]): CommandScope {
  const [verb, first] = words;
  if (verb === 'help' || verb === '--help') return { kind: 'open' };
  if (verb === 'apps') {
    return words.slice(1).every((word) => word.startsWith('-')) ? { kind: 'listing' } : { kind: 'admin' };
  }
  if (verb !== undefined && APP_FIRST.has(verb)) return { kind: 'app', appAt: 1 };
  if (verb === 'config') return { kind: 'app', appAt: 2 };
  if (verb === 'domains') return { kind: 'app', appAt: first !== undefined && DOMAIN_ACTIONS.has(first) ? 2 : 1 };
  return { kind: 'admin' };
}

/**
 * Whether a key of `role` may run the command `words`; resolves undefined when it may, else the one-line reason
 * (naming the role) to answer with, exit status 1, before anything reaches the agent. An admin may run
 * everything. A deployer may run `help`, `apps` and the app verbs on its own apps, and must name the app where the
 * usage puts it, right after the verb (`logs APP -f`, not `logs -f APP`), so the app checked is the app the verb
 * acts on. A command too short to name an app is let through: the verb answers with its usage and asks nothing.
 */
export function commandRefusal(role: KeyRole, words: readonly string[]): string | undefined {
  if (role.role === 'admin') return undefined;
  const scope = commandScope(words);
  if (scope.kind === 'open' || scope.kind === 'listing') return undefined;
  const spelled = words
    .slice(0, scope.kind === 'app' ? scope.appAt : 2)
    .join(' ')
    .slice(0, 60);
  if (scope.kind === 'admin') return `\`${spelled}\` needs an admin key: this key is a ${describeRole(role)}`;
  const app = words[scope.appAt];
  if (app === undefined) return undefined;
  if (app.startsWith('-')) {
    return `this key is a ${describeRole(role)}: name the app right after \`${spelled}\` (${spelled} APP …)`;
  }
  return appRefusal(role, app);
}

/**
 * Whether a key of `role` may run the git `service` on the repository of `app`; resolves undefined when it may,
 * else the one-line reason. A deployer may push (creating the app on a first push), fetch and archive its own
 * apps only; the core repositories are for admins.
 */
export function gitRefusal(role: KeyRole, service: GitService, app: string): string | undefined {
  const refusal = appRefusal(role, app);
  if (refusal === undefined) return undefined;
  return `${refusal} (git ${service} refused)`;
}

function appRefusal(role: KeyRole, app: string): string | undefined {
  if (mayReachApp(role, app)) return undefined;
  const name = JSON.stringify(app.slice(0, 63));
  if (isCoreApp(app)) return `${name} is a core app: only admin keys reach it, and this key is a ${describeRole(role)}`;
  return `this key is a ${describeRole(role)}: it cannot reach the app ${name}`;
}
