import { parseArgs } from 'node:util';
import {
  addAuthorizedKey,
  AuthorizedKeysError,
  readAuthorizedKeys,
  removeAuthorizedKey,
  setAuthorizedKeyRole,
  type AuthorizedKey,
} from './authorized-keys.js';
import { KeyRoleError, parseKeyRole, type KeyRole } from './key-role.js';
import { KeyRolesFileError } from './key-roles-file.js';

/** Where {@link runKeysCommand} reads the key to add and writes its answers. */
export interface KeysCommandIo {
  /** The text of standard input: the public key line for `add`. */
  readInput(): Promise<string>;
  out(line: string): void;
  err(line: string): void;
}

/** The usage lines of the keys command, after the program's name and `keys`. */
export const KEYS_USAGE = [
  'keys add [--role admin|deployer --apps A,B] [comment] < key.pub   authorize a key (admin unless --role deployer)',
  'keys list [--json]                             the keys: fingerprint, type, role (admin or deployer:APPS), comment',
  'keys role <SHA256:fp|comment> --role admin|deployer [--apps A,B]   change what a key may do',
  'keys remove <SHA256:fp|comment>                remove a key by fingerprint or by its comment',
];

const ROLE_OPTIONS = { role: { type: 'string' }, apps: { type: 'string' } } as const;
const LIST_OPTIONS = { json: { type: 'boolean' } } as const;

/**
 * Runs `keys add|list|role|remove` on the `authorized_keys` file at `path` and its roles file (see
 * `authorized-keys.ts` and `key-roles-file.ts`: both replaced atomically, other lines kept). `add` and `role` take
 * `--role admin|deployer` and, for a deployer only, `--apps A,B`; `add` without `--role` adds an admin. Resolves
 * with the exit code: 0 done, 1 refused with one line on `err` (a bad or duplicate key, a bad role, nothing to
 * change, a roles file that is not valid), or undefined when `args` is not a keys command (show the usage). `list`
 * also reports each refused line of the file on `err`, with the reason.
 */
export async function runKeysCommand(path: string, args: string[], io: KeysCommandIo): Promise<number | undefined> {
  const [action, ...rest] = args;
  const parsed = parseWords(rest, action === 'list' ? LIST_OPTIONS : action === 'remove' ? {} : ROLE_OPTIONS);
  if (!parsed) return undefined;
  const { values, positionals } = parsed;
  const [selector] = positionals;
  try {
    if (action === 'add' && positionals.length <= 1) {
      const role = parseKeyRole(values.role, values.apps);
      const key = await addAuthorizedKey(path, await io.readInput(), selector, role);
      io.out(`added ${describeKey(key)}`);
      return 0;
    }
    if (action === 'list' && positionals.length === 0) {
      const { keys, problems } = await readAuthorizedKeys(path);
      if (values.json === true) io.out(JSON.stringify(keys.map(keyJson), null, 2));
      else for (const key of keys) io.out(describeKey(key));
      for (const problem of problems) io.err(`${path} line ${problem.line}: ${problem.message}`);
      return 0;
    }
    if (action === 'role' && positionals.length === 1 && selector !== undefined) {
      if (values.role === undefined) throw new KeyRoleError('say the new role: --role admin|deployer [--apps A,B]');
      const key = await setAuthorizedKeyRole(path, selector, parseKeyRole(values.role, values.apps));
      io.out(`changed ${describeKey(key)}`);
      return 0;
    }
    if (action === 'remove' && positionals.length === 1 && selector !== undefined) {
      for (const key of await removeAuthorizedKey(path, selector)) io.out(`removed ${describeKey(key)}`);
      return 0;
    }
  } catch (error) {
    if (!(
      error instanceof AuthorizedKeysError ||
      error instanceof KeyRoleError ||
      error instanceof KeyRolesFileError
    )) {
      throw error;
    }
    io.err(error.message);
    return 1;
  }
  return undefined;
}

/** A key as one line: fingerprint, type, role (`admin` or `deployer:APP,APP`), comment. */
function describeKey(key: AuthorizedKey): string {
  return [key.publicKey.fingerprint, key.publicKey.type, roleWord(key.role), key.comment]
    .filter((part) => part !== '')
    .join(' ');
}

function roleWord(role: KeyRole): string {
  return role.role === 'admin' ? 'admin' : `deployer:${role.apps.join(',')}`;
}

function keyJson(key: AuthorizedKey): Record<string, unknown> {
  return {
    fingerprint: key.publicKey.fingerprint,
    type: key.publicKey.type,
    comment: key.comment,
    line: key.line,
    ...key.role,
  };
}

interface Words {
  values: { role?: string; apps?: string; json?: boolean };
  positionals: string[];
}

function parseWords(
  args: string[],
  options: typeof ROLE_OPTIONS | typeof LIST_OPTIONS | Record<string, never>,
): Words | undefined {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true }) as Words;
  } catch {
    return undefined;
  }
}
