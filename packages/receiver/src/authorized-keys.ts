import { readFile, stat } from 'node:fs/promises';
import { replaceFile } from '@swarmlet/common';
import { decodePublicKey, PublicKeyError, type PublicKey } from './public-key.js';

/**
 * One key of an OpenSSH `authorized_keys` file. Whatever its options say, a key only ever gets git: options that
 * shape a session (`restrict`, `command=`, `no-pty`, `permitopen=`, …) are accepted and have nothing to add, since
 * the receiver offers no shell, pty or forwarding to anyone; `verify-required` is honoured for security keys.
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

const SESSION_OPTIONS = new Set([
  'restrict',
  'command',
  'environment',
  'permitopen',
  'permitlisten',
  'tunnel',
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
const UNSUPPORTED_OPTIONS = new Set(['from', 'expiry-time', 'cert-authority', 'principals']);
const KEY_TYPE_LIKE = /^(?:ssh|ecdsa|sk)-[A-Za-z0-9.@-]+$/;

/**
 * Parses one line of an `authorized_keys` file: `[options] type base64 [comment]`. Resolves null for a blank or
 * `#` comment line. Options that narrow who may log in (`from=`, `expiry-time=`, `cert-authority`, `principals=`)
 * cannot be honoured here, so a key carrying one is refused rather than let in more widely than written.
 * @throws AuthorizedKeysError saying what is wrong with the line.
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
  for (const option of splitOptions(options)) {
    const name = /^[A-Za-z0-9-]+/.exec(option)?.[0].toLowerCase() ?? '';
    if (name === VERIFY_REQUIRED) requireUserVerification = true;
    else if (UNSUPPORTED_OPTIONS.has(name)) {
      throw new AuthorizedKeysError(`the option ${name} is not supported by the receiver; the key is skipped`);
    } else if (!SESSION_OPTIONS.has(name)) {
      throw new AuthorizedKeysError(`unknown option ${JSON.stringify(option.slice(0, 60))}`);
    }
  }
  return { line, publicKey, comment: comment.join(' ').trim(), options, requireUserVerification };
}

/**
 * Parses a whole `authorized_keys` text. A malformed line never stops the parse: it becomes a problem carrying its
 * line number, and its key is left out.
 */
export function parseAuthorizedKeys(text: string): ParsedAuthorizedKeys {
  const parsed: ParsedAuthorizedKeys = { keys: [], problems: [] };
  for (const [index, content] of text.split('\n').entries()) {
    try {
      const key = parseAuthorizedKeyLine(content, index + 1);
      if (key) parsed.keys.push(key);
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
 * An `authorized_keys` file as the SSH server reads it: {@link keys} checks the file's identity and modification
 * time on every call and rereads it when either changed, so an edit or a `keys add` applies to the next login
 * without a restart. A missing file means no key. `warn` hears about skipped lines and a missing file, once per
 * version of the file.
 */
export class AuthorizedKeysFile {
  private version: string | undefined;
  private current: readonly AuthorizedKey[] = [];

  constructor(
    readonly path: string,
    private readonly warn: (message: string) => void = () => undefined,
  ) {}

  /**
   * The keys in the file now.
   * @throws the file system error when the file exists but cannot be read.
   */
  async keys(): Promise<readonly AuthorizedKey[]> {
    const version = await this.stamp();
    if (version === this.version) return this.current;
    if (version === 'missing') {
      this.warn(`${this.path} does not exist: no key can log in`);
      this.version = version;
      this.current = [];
      return this.current;
    }
    const parsed = parseAuthorizedKeys(await readFile(this.path, 'utf8'));
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

  private async stamp(): Promise<string> {
    try {
      const info = await stat(this.path, { bigint: true });
      return `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
      throw error;
    }
  }
}

/** Reads and parses an `authorized_keys` file; a missing file has no keys. */
export async function readAuthorizedKeys(path: string): Promise<ParsedAuthorizedKeys> {
  return parseAuthorizedKeys(await readText(path));
}

/**
 * Adds the key in `text` (one `authorized_keys` line, such as the content of `id_ed25519.pub`) to the file,
 * creating it when missing. `comment`, when given, replaces the key's own comment. The file is replaced
 * atomically with mode 0600; every other line is kept as it was.
 * @throws AuthorizedKeysError when the text is not exactly one valid key or the key is already in the file.
 */
export async function addAuthorizedKey(path: string, text: string, comment?: string): Promise<AuthorizedKey> {
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
  const existingText = await readText(path);
  const existing = parseAuthorizedKeys(existingText);
  const duplicate = existing.keys.find((other) => other.publicKey.fingerprint === key.publicKey.fingerprint);
  if (duplicate) {
    throw new AuthorizedKeysError(
      `key ${key.publicKey.fingerprint} is already authorized (line ${duplicate.line}${duplicate.comment ? `, ${duplicate.comment}` : ''})`,
    );
  }
  const separator = existingText === '' || existingText.endsWith('\n') ? '' : '\n';
  await replaceFile(path, `${existingText}${separator}${formatAuthorizedKey(key)}\n`, 0o600);
  key.line = (existingText + separator).split('\n').length;
  return key;
}

/**
 * Removes the keys that `selector` names: a fingerprint (`SHA256:…`) or an exact comment. Other lines are kept as
 * they were; the file is replaced atomically with mode 0600. Resolves with the keys removed.
 * @throws AuthorizedKeysError when no key matches, or when a comment names keys with different fingerprints.
 */
export async function removeAuthorizedKey(path: string, selector: string): Promise<AuthorizedKey[]> {
  const text = await readText(path);
  const byFingerprint = selector.startsWith('SHA256:');
  const matches = parseAuthorizedKeys(text).keys.filter((key) =>
    byFingerprint ? key.publicKey.fingerprint === selector : key.comment === selector,
  );
  if (matches.length === 0) {
    throw new AuthorizedKeysError(`no authorized key has the ${byFingerprint ? 'fingerprint' : 'comment'} ${selector}`);
  }
  const fingerprints = new Set(matches.map((key) => key.publicKey.fingerprint));
  if (fingerprints.size > 1) {
    throw new AuthorizedKeysError(
      `${fingerprints.size} keys have the comment ${selector}; remove one by fingerprint: ${[...fingerprints].join(', ')}`,
    );
  }
  const drop = new Set(matches.map((key) => key.line));
  const kept = text.split('\n').filter((_line, index) => !drop.has(index + 1));
  await replaceFile(path, kept.join('\n'), 0o600);
  return matches;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
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
