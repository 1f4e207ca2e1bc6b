import { readFile, stat } from 'node:fs/promises';
import { replaceFile } from '@swarmlet/common';
import { ADMIN, type KeyRole } from './key-role.js';
import { readKeyRoles, rolesPathFor, updateKeyRoles, type KeyRoles } from './key-roles-file.js';
import { decodePublicKey, PublicKeyError, type PublicKey } from './public-key.js';

/**
 * One key of an OpenSSH `authorized_keys` file. A key only ever gets git and the platform's commands, as far as
 * its {@link role} allows. Options that only take something away the receiver never offers (`no-pty`,
 * `no-port-forwarding`, …) are accepted, and so are the grants `restrict` would undo (`pty`, …), which give
 * nothing here; `verify-required` is honoured for security keys. Options that would limit or shape the key in a
 * way the receiver does not enforce (`command=`, `restrict`, `from=`, …) make the line refused, never ignored.
 */
export interface AuthorizedKey {
  /** The 1-based line it was read from; 0 for a key parsed from text that is not (yet) in a file. */
  line: number;
  publicKey: PublicKey;
  /** Everything after the key data, trimmed; may be empty. */
  comment: string;
  /** The options as written before the key type, or the empty string. */
  options: string;
  /** Set by the `verify-required` option: a security key must report user verification, not only presence. */
  requireUserVerification: boolean;
  /** What the key may do: from the roles file beside the keys file; admin when none is recorded. */
  role: KeyRole;
}

/** A line of an `authorized_keys` file that is not a usable key; the key on it is skipped. */
export interface AuthorizedKeysProblem {
  line: number;
  message: string;
}

/** The keys of an `authorized_keys` text and the lines that were skipped. */
export interface ParsedAuthorizedKeys {
  keys: AuthorizedKey[];
  problems: AuthorizedKeysProblem[];
}

/** A key operation that cannot be done (a malformed or duplicate key, a key that is not there). Safe to show. */
export class AuthorizedKeysError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthorizedKeysError';
  }
}

/** Options accepted as they are: denials of what the receiver never offers, and grants that give nothing here. */
const HARMLESS_OPTIONS = new Set([
  'agent-forwarding',
  'no-agent-forwarding',
  'port-forwarding',
  'no-port-forwarding',
  'pty',
  'no-pty',
  'user-rc',
  'no-user-rc',
  'x11-forwarding',
  'no-x11-forwarding',
  'no-touch-required',
]);
const VERIFY_REQUIRED = 'verify-required';
/** Options the receiver does not enforce, with what to do instead; a key carrying one is refused. */
const UNENFORCED_OPTIONS = new Map([
  ['command', 'remove it or use a deployer role'],
  ['restrict', 'remove it (no key gets a shell, pty or forwarding here) or use a deployer role'],
  ['from', 'remove it: the receiver cannot limit a key to addresses (a firewall can)'],
  ['environment', 'remove it: no key sets environment variables here'],
  ['permitopen', 'remove it: no key gets port forwarding here'],
  ['permitlisten', 'remove it: no key gets port forwarding here'],
  ['tunnel', 'remove it: no key gets a tunnel here'],
  ['expiry-time', 'remove it, and remove the key when it should stop working'],
  ['principals', 'remove it: the receiver takes plain public keys, not certificates'],
  ['cert-authority', 'remove it: the receiver takes plain public keys, not certificates'],
]);
const KEY_TYPE_LIKE = /^(?:ssh|ecdsa|sk)-[A-Za-z0-9.@-]+$/;

/**
 * Parses one line of an `authorized_keys` file: `[options] type base64 [comment]`, with the admin role (the roles
 * file is applied by the readers). Resolves null for a blank or `#` comment line. A key with an option the
 * receiver does not enforce (`command=`, `restrict`, `from=`, `environment=`, `permitopen=`, `permitlisten=`,
 * `tunnel=`, `expiry-time=`, `principals=`, `cert-authority`) or an unknown one is refused rather than let in with
 * more rights than written.
 * @throws AuthorizedKeysError saying what is wrong with the line (and which key, when the key itself is valid).
 */
export function parseAuthorizedKeyLine(text: string, line = 0): AuthorizedKey | null {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return null;
  const firstEnd = tokenEnd(trimmed, false);
  let options = '';
  let rest = trimmed;
  if (!KEY_TYPE_LIKE.test(trimmed.slice(0, firstEnd))) {
    const optionsEnd = tokenEnd(trimmed, true);
    options = trimmed.slice(0, optionsEnd);
    rest = trimmed.slice(optionsEnd).trimStart();
  }
  const [type = '', data = '', ...comment] = rest.split(/[ \t]+/);
  if (type === '') throw new AuthorizedKeysError('options but no key');
  if (data === '') throw new AuthorizedKeysError(`no key data after the key type ${JSON.stringify(type.slice(0, 60))}`);
  let publicKey: PublicKey;
  try {
    publicKey = decodePublicKey(type, data);
  } catch (error) {
    if (error instanceof PublicKeyError) throw new AuthorizedKeysError(error.message);
    throw error;
  }
  let requireUserVerification = false;
  const keyComment = comment.join(' ').trim();
  for (const option of splitOptions(options)) {
    const name = /^[A-Za-z0-9-]+/.exec(option)?.[0].toLowerCase() ?? '';
    const remedy = UNENFORCED_OPTIONS.get(name);
    if (name === VERIFY_REQUIRED) requireUserVerification = true;
    else if (remedy !== undefined) {
      const spelled = option.slice(name.length).startsWith('=') ? `${name}=` : name;
      throw new AuthorizedKeysError(
        `key ${publicKey.fingerprint}${keyComment ? ` (${keyComment.slice(0, 60)})` : ''}: option ${spelled} is not enforced by swarmlet: ${remedy}`,
      );
    } else if (!HARMLESS_OPTIONS.has(name)) {
      throw new AuthorizedKeysError(`unknown option ${JSON.stringify(option.slice(0, 60))}`);
    }
  }
  return { line, publicKey, comment: keyComment, options, requireUserVerification, role: ADMIN };
}

/**
 * Parses a whole `authorized_keys` text, giving each key its role from `roles` (admin when it has none). A
 * malformed line never stops the parse: it becomes a problem carrying its line number, and its key is left out.
 */
export function parseAuthorizedKeys(text: string, roles: KeyRoles = new Map()): ParsedAuthorizedKeys {
  const parsed: ParsedAuthorizedKeys = { keys: [], problems: [] };
  for (const [index, content] of text.split('\n').entries()) {
    try {
      const key = parseAuthorizedKeyLine(content, index + 1);
      if (!key) continue;
      key.role = roles.get(key.publicKey.fingerprint) ?? ADMIN;
      parsed.keys.push(key);
    } catch (error) {
      if (!(error instanceof AuthorizedKeysError)) throw error;
      parsed.problems.push({ line: index + 1, message: error.message });
    }
  }
  return parsed;
}

/** Formats a key as one `authorized_keys` line. */
export function formatAuthorizedKey(key: Pick<AuthorizedKey, 'publicKey' | 'comment' | 'options'>): string {
  const data = `${key.publicKey.type} ${key.publicKey.blob.toString('base64')}`;
  return [key.options, data, key.comment].filter((part) => part !== '').join(' ');
}

/**
 * An `authorized_keys` file and its roles file as the SSH server reads them: {@link keys} checks both files'
 * identity and modification time on every call and rereads them when either changed, so an edit or a `keys add`
 * applies to the next login without a restart. A missing keys file means no key; a roles file that is not valid
 * lets no key in at all (rather than guess rights). `warn` hears about refused lines, a missing keys file and a
 * bad roles file, once per version of the files.
 */
export class AuthorizedKeysFile {
  private version: string | undefined;
  private current: readonly AuthorizedKey[] = [];
  /** The roles file that goes with the keys file (see `key-roles-file.ts`). */
  readonly rolesPath: string;

  constructor(
    readonly path: string,
    private readonly warn: (message: string) => void = () => undefined,
  ) {
    this.rolesPath = rolesPathFor(path);
  }

  /**
   * The keys that may log in now, each with its role.
   * @throws the file system error when the keys file exists but cannot be read.
   */
  async keys(): Promise<readonly AuthorizedKey[]> {
    const version = `${await stamp(this.path)}|${await stamp(this.rolesPath)}`;
    if (version === this.version) return this.current;
    let roles: KeyRoles;
    try {
      roles = await readKeyRoles(this.rolesPath);
    } catch (error) {
      this.warn(`${(error as Error).message}: no key can log in until it is fixed`);
      this.version = version;
      this.current = [];
      return this.current;
    }
    const text = await readText(this.path, () => {
      this.warn(`${this.path} does not exist: no key can log in`);
    });
    const parsed = parseAuthorizedKeys(text, roles);
    for (const problem of parsed.problems) {
      this.warn(`${this.path} line ${problem.line}: ${problem.message}`);
    }
    this.version = version;
    this.current = parsed.keys;
    return this.current;
  }

  /** The first key whose wire-format blob is `blob`, or undefined. */
  async find(blob: Buffer): Promise<AuthorizedKey | undefined> {
    return (await this.keys()).find((key) => key.publicKey.blob.equals(blob));
  }
}

/**
 * Reads and parses an `authorized_keys` file with the roles of its roles file; a missing file has no keys.
 * @throws KeyRolesFileError when the roles file is not valid.
 */
export async function readAuthorizedKeys(path: string): Promise<ParsedAuthorizedKeys> {
  const roles = await readKeyRoles(rolesPathFor(path));
  return parseAuthorizedKeys(await readText(path), roles);
}

/**
 * Adds the key in `text` (one `authorized_keys` line, such as the content of `id_ed25519.pub`) to the file with
 * `role` (admin by default), creating the files when missing. `comment`, when given, replaces the key's own
 * comment. The role is recorded in the roles file first, then the keys file is replaced atomically with mode
 * 0600, every other line kept as it was.
 * @throws AuthorizedKeysError when the text is not exactly one valid key or the key is already in the file;
 * KeyRolesFileError when the roles file is not valid. Nothing is written then.
 */
export async function addAuthorizedKey(
  path: string,
  text: string,
  comment?: string,
  role: KeyRole = ADMIN,
): Promise<AuthorizedKey> {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (lines.length !== 1 || lines[0] === undefined) {
    throw new AuthorizedKeysError(`expected one public key line, got ${lines.length}`);
  }
  const key = parseAuthorizedKeyLine(lines[0]);
  if (!key) throw new AuthorizedKeysError('expected a public key, got a comment');
  if (comment !== undefined) {
    if (/[\r\n]/.test(comment)) throw new AuthorizedKeysError('a comment is one line');
    key.comment = comment.trim();
  }
  key.role = role;
  const existingText = await readText(path);
  const existing = parseAuthorizedKeys(existingText);
  const duplicate = existing.keys.find((other) => other.publicKey.fingerprint === key.publicKey.fingerprint);
  if (duplicate) {
    throw new AuthorizedKeysError(
      `key ${key.publicKey.fingerprint} is already authorized (line ${duplicate.line}${duplicate.comment ? `, ${duplicate.comment}` : ''})`,
    );
  }
  await updateKeyRoles(rolesPathFor(path), (roles) => roles.set(key.publicKey.fingerprint, role));
  const separator = existingText === '' || existingText.endsWith('\n') ? '' : '\n';
  await replaceFile(path, `${existingText}${separator}${formatAuthorizedKey(key)}\n`, 0o600);
  key.line = (existingText + separator).split('\n').length;
  return key;
}

/**
 * Removes the keys that `selector` names (see {@link selectKeys}). Other lines are kept as they were; the file is
 * replaced atomically with mode 0600, then the keys' roles are dropped from the roles file. Resolves with the keys
 * removed.
 * @throws AuthorizedKeysError as {@link selectKeys} does; KeyRolesFileError when the roles file is not valid.
 */
export async function removeAuthorizedKey(path: string, selector: string): Promise<AuthorizedKey[]> {
  const text = await readText(path);
  const matches = selectKeys(parseAuthorizedKeys(text, await readKeyRoles(rolesPathFor(path))).keys, selector);
  const drop = new Set(matches.map((key) => key.line));
  const kept = text.split('\n').filter((_line, index) => !drop.has(index + 1));
  await replaceFile(path, kept.join('\n'), 0o600);
  await updateKeyRoles(rolesPathFor(path), (roles) => {
    for (const key of matches) roles.delete(key.publicKey.fingerprint);
  });
  return matches;
}

/**
 * Gives the key that `selector` names (see {@link selectKeys}) a new role, in the roles file only. Resolves with
 * the key as it now is.
 * @throws AuthorizedKeysError as {@link selectKeys} does; KeyRolesFileError when the roles file is not valid.
 */
export async function setAuthorizedKeyRole(path: string, selector: string, role: KeyRole): Promise<AuthorizedKey> {
  const [key] = selectKeys((await readAuthorizedKeys(path)).keys, selector);
  if (!key) throw new AuthorizedKeysError(`no authorized key matches ${selector}`);
  await updateKeyRoles(rolesPathFor(path), (roles) => roles.set(key.publicKey.fingerprint, role));
  return { ...key, role };
}

/**
 * The keys that `selector` names: a fingerprint (`SHA256:…`) or an exact comment; one key, possibly on several
 * lines.
 * @throws AuthorizedKeysError when no key matches, or when a comment names keys with different fingerprints.
 */
function selectKeys(keys: readonly AuthorizedKey[], selector: string): AuthorizedKey[] {
  const byFingerprint = selector.startsWith('SHA256:');
  const matches = keys.filter((key) =>
    byFingerprint ? key.publicKey.fingerprint === selector : key.comment === selector,
  );
  if (matches.length === 0) {
    throw new AuthorizedKeysError(`no authorized key has the ${byFingerprint ? 'fingerprint' : 'comment'} ${selector}`);
  }
  const fingerprints = new Set(matches.map((key) => key.publicKey.fingerprint));
  if (fingerprints.size > 1) {
    throw new AuthorizedKeysError(
      `${fingerprints.size} keys have the comment ${selector}; name one by fingerprint: ${[...fingerprints].join(', ')}`,
    );
  }
  return matches;
}

/** A file's identity and change times, or `missing`. */
async function stamp(path: string): Promise<string> {
  try {
    const info = await stat(path, { bigint: true });
    return `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
}

async function readText(path: string, whenMissing: () => void = () => undefined): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    whenMissing();
    return '';
  }
}

function tokenEnd(text: string, quoted: boolean): number {
  let inQuotes = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (quoted && char === '\\' && inQuotes) index += 1;
    else if (quoted && char === '"') inQuotes = !inQuotes;
    else if (!inQuotes && (char === ' ' || char === '\t')) return index;
  }
  if (inQuotes) throw new AuthorizedKeysError('an option has an unterminated quote');
  return text.length;
}

function splitOptions(options: string): string[] {
  const result: string[] = [];
  let start = 0;
  let inQuotes = false;
  for (let index = 0; index <= options.length; index += 1) {
    const char = options[index];
    if (char === '\\' && inQuotes) index += 1;
    else if (char === '"') inQuotes = !inQuotes;
    else if (char === undefined || (char === ',' && !inQuotes)) {
      if (index > start) result.push(options.slice(start, index));
      start = index + 1;
    }
  }
  return result;
}
