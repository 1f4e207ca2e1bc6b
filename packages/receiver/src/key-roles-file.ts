import { readFile } from 'node:fs/promises';
import { replaceFile } from '@swarmlet/common';
import { z } from 'zod';
import { ADMIN, deployerOf, KeyRoleError, type KeyRole } from './key-role.js';

/**
 * The roles of the keys, kept beside the `authorized_keys` file as `<keys file>.swarmlet-roles` so that the keys
 * file stays plain OpenSSH (sshd may read the same file, and would refuse options it does not know). JSON, mode
 * 0600, replaced atomically:
 *
 * ```json
 * { "version": 1, "keys": { "SHA256:…": { "role": "deployer", "apps": ["shop"] }, "SHA256:…": { "role": "admin" } } }
 * ```
 *
 * A key with no entry is an admin (a keys file from before roles keeps working). `keys add` writes the entry
 * before the key line and `keys remove` drops it after the line, so a crash in between leaves at worst an entry
 * for a key that is not in the file, never a key with more rights than given.
 */
export type KeyRoles = ReadonlyMap<string, KeyRole>;

/** The roles file that goes with the keys file at `keysPath`. */
export function rolesPathFor(keysPath: string): string {
  return `${keysPath}.swarmlet-roles`;
}

/** A roles file that cannot be read or is not valid. No key logs in while it is so; the message names the file. */
export class KeyRolesFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyRolesFileError';
  }
}

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

const schema = z.object({
  version: z.literal(1),
  keys: z.record(
    z.string().regex(FINGERPRINT, 'not a SHA256 fingerprint'),
    z.discriminatedUnion('role', [
      z.object({ role: z.literal('admin') }).strict(),
      z.object({ role: z.literal('deployer'), apps: z.array(z.string()) }).strict(),
    ]),
  ),
});

/**
 * Reads the roles file at `path` (see {@link rolesPathFor}); a missing file records no role.
 * @throws KeyRolesFileError when the file is unreadable, not JSON, or not in the form above (bad app names included).
 */
export async function readKeyRoles(path: string): Promise<KeyRoles> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new KeyRolesFileError(`cannot read the key roles file ${path}: ${(error as Error).message}`);
  }
  return parseKeyRoles(text, path);
}

/**
 * Parses the text of a roles file; `path` only names it in errors.
 * @throws KeyRolesFileError as {@link readKeyRoles} does.
 */
export function parseKeyRoles(text: string, path: string): KeyRoles {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new KeyRolesFileError(`the key roles file ${path} is not JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'its top';
    throw new KeyRolesFileError(`the key roles file ${path} is not valid at ${where}: ${issue?.message ?? 'unknown'}`);
  }
  const roles = new Map<string, KeyRole>();
  for (const [fingerprint, entry] of Object.entries(parsed.data.keys)) {
    try {
      roles.set(fingerprint, entry.role === 'admin' ? ADMIN : deployerOf(entry.apps));
    } catch (error) {
      if (!(error instanceof KeyRoleError)) throw error;
      throw new KeyRolesFileError(`the key roles file ${path}, key ${fingerprint}: ${error.message}`);
    }
  }
  return roles;
}

/**
 * Changes the roles file at `path`: `change` gets the current roles to edit (set or delete entries), then the file
 * is replaced atomically with mode 0600.
 * @throws KeyRolesFileError when the current file is not valid (nothing is written then).
 */
export async function updateKeyRoles(path: string, change: (roles: Map<string, KeyRole>) => void): Promise<void> {
  const roles = new Map(await readKeyRoles(path));
  change(roles);
  const keys: Record<string, KeyRole> = {};
  for (const fingerprint of [...roles.keys()].sort()) {
    const role = roles.get(fingerprint);
    if (role) keys[fingerprint] = role;
  }
  await replaceFile(path, `${JSON.stringify({ version: 1, keys }, null, 2)}\n`, 0o600);
}
