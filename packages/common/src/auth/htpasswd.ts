import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { ConfigError } from '../config.js';
import bcrypt from 'bcryptjs';
import { ConcurrencyLimit } from './concurrency-limit.js';

const DEFAULT_SETTING = 'auth.htpasswd.path';
const BCRYPT_HASH = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;
const HOW_TO =
  'only bcrypt entries ($2y$, $2a$, $2b$) are accepted; write one with `htpasswd -B FILE USER` ' +
  '(from apache2-utils; it prompts for the password, add -c to create a new file)';
const DEFAULT_CACHE_SIZE = 64;

/** The password check of an htpasswd file's users. */
export interface Htpasswd {
  /**
   * Resolves true when `password` is `user`'s password. Never rejects: an unknown user or a wrong password is
   * false (after as much bcrypt work as a known user costs, so timing does not reveal which user names exist).
   */
  verify(user: string, password: string): Promise<boolean>;
  /**
   * Whether `password` is `user`'s password as remembered from an earlier successful {@link verify}, answered
   * without bcrypt work; false says only that it is not remembered.
   */
  remembers(user: string, password: string): boolean;
}

/** Tuning for {@link loadHtpasswd}. */
export interface HtpasswdOptions {
  /** How many distinct good credentials are remembered so they are not bcrypt-compared again; default 64. */
  cacheSize?: number;
  /** How many bcrypt comparisons may run at once; more wait in line. Default: the number of CPUs. */
  maxConcurrentChecks?: number;
  /** The setting a {@link ConfigError} names (the registry's `auth.htpasswd.path` by default). */
  setting?: string;
}

/**
 * Reads an Apache htpasswd file once. Blank lines and lines starting with `#` are skipped; every other line must be
 * `user:hash` with a non-empty, unique user and a bcrypt hash (`htpasswd -B`). http-auth's file loader is not used:
 * it accepts plaintext, SHA-1, MD5 and crypt entries silently and checks bcrypt with the blocking `compareSync`,
 * whereas this registry refuses weak entries at start-up and checks passwords with bcryptjs's asynchronous `compare`
 * so the event loop keeps serving other requests.
 *
 * A good credential is remembered in a bounded least-recently-used set, keyed by an HMAC of user, password and the
 * user's htpasswd hash under a key drawn at random per process (neither the password nor a reusable hash of it is
 * kept, and a changed entry no longer matches), so the dozens of requests of one `docker push` cost a single bcrypt
 * comparison. Concurrent checks of the same credential share one comparison. A failed check is never remembered.
 * At most `maxConcurrentChecks` bcrypt comparisons run at once, so a flood of guesses queues rather than taking
 * every CPU.
 * @throws ConfigError naming `options.setting` (`auth.htpasswd.path`) when the file cannot be read, has no entry, or has a line that is
 *   not a bcrypt entry (the message gives the file, the line number and the user, never a password or hash).
 */
export function loadHtpasswd(path: string, options: HtpasswdOptions = {}): Htpasswd {
  const setting = options.setting ?? DEFAULT_SETTING;
  const hashes = parseHtpasswd(readHtpasswd(path, setting), path, setting);
  const cacheSize = options.cacheSize ?? DEFAULT_CACHE_SIZE;
  const hmacKey = randomBytes(32);
  const remembered = new Set<string>();
  const inFlight = new Map<string, Promise<boolean>>();
  const checks = new ConcurrencyLimit(options.maxConcurrentChecks ?? availableParallelism());
  const cost = Number([...hashes.values()][0]?.slice(4, 6));
  let decoy: Promise<string> | undefined;

  const compare = async (user: string, password: string): Promise<boolean> => {
    const hash = hashes.get(user);
    if (hash !== undefined) return checks.run(() => bcrypt.compare(password, hash));
    await checks.run(async () => {
      decoy ??= bcrypt.hash(randomBytes(18).toString('base64'), cost);
      await bcrypt.compare(password, await decoy);
    });
    return false;
  };

  const keyOf = (user: string, password: string): string =>
    createHmac('sha256', hmacKey)
      .update(JSON.stringify([user, password, hashes.get(user) ?? '']))
      .digest('base64');

  const touch = (key: string): boolean => {
    if (!remembered.delete(key)) return false;
    remembered.add(key);
    return true;
  };

  const remember = (key: string): void => {
    remembered.add(key);
    for (const oldest of remembered) {
      if (remembered.size <= cacheSize) break;
      remembered.delete(oldest);
    }
  };

  return {
    remembers(user, password) {
      return hashes.has(user) && touch(keyOf(user, password));
    },
    verify(user, password) {
      const key = keyOf(user, password);
      if (touch(key)) return Promise.resolve(true);
      const pending = inFlight.get(key);
      if (pending) return pending;
      const check = compare(user, password)
        .then(
          (good) => {
            if (good) remember(key);
            return good;
          },
          () => false,
        )
        .finally(() => inFlight.delete(key));
      inFlight.set(key, check);
      return check;
    },
  };
}

function readHtpasswd(path: string, setting: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new ConfigError(setting, `cannot read the htpasswd file ${path} (${code})`);
  }
}

function parseHtpasswd(text: string, path: string, setting: string): Map<string, string> {
  const hashes = new Map<string, string>();
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `${path} line ${index + 1}`;
    const colon = line.indexOf(':');
    if (colon < 0) throw new ConfigError(setting, `${where} is not a user:hash entry; ${HOW_TO}`);
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (user === '') throw new ConfigError(setting, `${where} has an empty user name; ${HOW_TO}`);
    if (!BCRYPT_HASH.test(hash)) {
      throw new ConfigError(setting, `${where} (user ${user}) ${describeHash(hash)}; ${HOW_TO}`);
    }
    if (hashes.has(user)) throw new ConfigError(setting, `${where} repeats user ${user}; keep one entry per user`);
    hashes.set(user, hash);
  }
  if (hashes.size === 0) throw new ConfigError(setting, `${path} has no user entry, so nobody could log in; ${HOW_TO}`);
  return hashes;
}

function describeHash(hash: string): string {
  if (hash.startsWith('$2')) return 'has a bcrypt hash of an unsupported form';
  if (hash.startsWith('{SHA}')) return 'uses SHA-1';
  if (hash.startsWith('$apr1$') || hash.startsWith('$1$')) return 'uses MD5';
  if (/^\$[56]\$/.test(hash)) return 'uses SHA-crypt';
  if (/^[./0-9A-Za-z]{13}$/.test(hash)) return 'uses crypt or a plaintext password';
  return 'holds a plaintext password or an unknown hash';
}
