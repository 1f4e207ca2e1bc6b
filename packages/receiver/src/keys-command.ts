import { addAuthorizedKey, AuthorizedKeysError, readAuthorizedKeys, removeAuthorizedKey } from './authorized-keys.js';

/** Where {@link runKeysCommand} reads the key to add and writes its answers. */
export interface KeysCommandIo {
  /** The text of standard input: the public key line for `add`. */
  readInput(): Promise<string>;
  out(line: string): void;
  err(line: string): void;
}

/** The usage lines of the keys command, after the program's name and `keys`. */
export const KEYS_USAGE = [
  'keys add [comment] < key.pub     authorize a public key (its comment replaced when one is given)',
  'keys list                        the authorized keys: fingerprint, type, comment',
  'keys remove <SHA256:fp|comment>  remove a key by fingerprint or by its comment',
];

/**
 * Runs `keys add|list|remove` on the `authorized_keys` file at `path` (see `authorized-keys.ts`: the file is
 * replaced atomically, other lines kept). Resolves with the exit code: 0 done, 1 refused with one line on `err`
 * (a bad or duplicate key, nothing to remove), or undefined when `args` is not a keys command (show the usage).
 * `list` also reports each unreadable line of the file on `err`.
 */
export async function runKeysCommand(path: string, args: string[], io: KeysCommandIo): Promise<number | undefined> {
  const [action, ...rest] = args;
  try {
    if (action === 'add' && rest.length <= 1) {
      const key = await addAuthorizedKey(path, await io.readInput(), rest[0]);
      io.out(`added ${key.publicKey.fingerprint} ${key.comment}`);
      return 0;
    }
    if (action === 'list' && rest.length === 0) {
      const parsed = await readAuthorizedKeys(path);
      for (const key of parsed.keys) io.out(`${key.publicKey.fingerprint} ${key.publicKey.type} ${key.comment}`);
      for (const problem of parsed.problems) io.err(`${path} line ${problem.line}: ${problem.message}`);
      return 0;
    }
    if (action === 'remove' && rest.length === 1 && rest[0] !== undefined) {
      for (const key of await removeAuthorizedKey(path, rest[0])) {
        io.out(`removed ${key.publicKey.fingerprint} ${key.comment}`);
      }
      return 0;
    }
  } catch (error) {
    if (!(error instanceof AuthorizedKeysError)) throw error;
    io.err(error.message);
    return 1;
  }
  return undefined;
}
