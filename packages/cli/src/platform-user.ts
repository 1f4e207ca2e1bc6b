import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';

/** The bcrypt cost of the entry, as `htpasswd -B` uses by default. */
const COST = 10;

/** Where the platform user's credentials are under `swarmlet up`. */
export interface PlatformUser {
  username: string;
  /** The file holding the password (never printed). */
  passwordFile: string;
  /** The htpasswd file with the user's bcrypt entry, for the agent's dashboard sign-in. */
  htpasswdFile: string;
}

/**
 * Makes the platform user of `swarmlet up`: the password is read from `passwordFile` (its first line), or else
 * from `<dataDir>/dashboard-password`, made once with 24 random bytes (mode 0600); `<dataDir>/htpasswd` (0600) is
 * written anew with the user's bcrypt entry.
 * @throws Error when the password file cannot be read or holds no password.
 */
export async function ensurePlatformUser(
  dataDir: string,
  username: string,
  passwordFile: string | undefined,
): Promise<PlatformUser> {
  const file = passwordFile ?? join(dataDir, 'dashboard-password');
  if (passwordFile === undefined) {
    const existing = await readFile(file, 'utf8').catch(() => '');
    if (existing.trim() === '') await writeFile(file, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  }
  const password = (await readFile(file, 'utf8')).split(/\r?\n/)[0] ?? '';
  if (password === '') throw new Error(`${file} holds no password (SWARMLET_PASSWORD_FILE)`);
  const htpasswdFile = join(dataDir, 'htpasswd');
  await writeFile(htpasswdFile, `${username}:${await bcrypt.hash(password, COST)}\n`, { mode: 0o600 });
  return { username, passwordFile: file, htpasswdFile };
}
