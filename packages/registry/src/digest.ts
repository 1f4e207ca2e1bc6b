import { createHash, type Hash } from 'node:crypto';
import { RegistryError } from './errors.js';

/** The digest algorithms this registry computes, with the length of their hex encoding. */
const ALGORITHMS = { sha256: 64, sha512: 128 } as const;

/** A supported digest algorithm. */
export type DigestAlgorithm = keyof typeof ALGORITHMS;

/** A validated content digest: `algorithm:hex`, hex in lower case of the algorithm's length. */
export interface Digest {
  algorithm: DigestAlgorithm;
  hex: string;
  /** The canonical `algorithm:hex` form. */
  text: string;
}

const DIGEST = /^(?<algorithm>[a-z0-9]+(?:[.+_-][a-z0-9]+)*):(?<hex>[a-zA-Z0-9=_-]+)$/;

/**
 * Parses and validates a digest string. Only sha256 and sha512 with lower-case hex of the right length are
 * accepted (`sha256:totallywrong` is not).
 * @throws RegistryError DIGEST_INVALID naming the value.
 */
export function parseDigest(text: string): Digest {
  const groups = DIGEST.exec(text)?.groups;
  const algorithm = groups?.algorithm;
  const hex = groups?.hex ?? '';
  if (algorithm !== 'sha256' && algorithm !== 'sha512') {
    throw new RegistryError(
      'DIGEST_INVALID',
      { digest: text.slice(0, 200), reason: 'expected sha256:<64 hex> or sha512:<128 hex>' },
      {},
      'invalid digest: malformed or of an unsupported algorithm',
    );
  }
  if (hex.length !== ALGORITHMS[algorithm] || !/^[a-f0-9]+$/.test(hex)) {
    throw new RegistryError(
      'DIGEST_INVALID',
      { digest: text.slice(0, 200), reason: `expected ${ALGORITHMS[algorithm]} lower-case hex digits` },
      {},
      `invalid digest: malformed ${algorithm} digest`,
    );
  }
  return { algorithm, hex, text: `${algorithm}:${hex}` };
}

/** Whether `text` is a well-formed digest (see {@link parseDigest}). */
export function isDigest(text: string): boolean {
  try {
    parseDigest(text);
    return true;
  } catch {
    return false;
  }
}

/** A fresh hash for `algorithm`. */
export function createDigester(algorithm: DigestAlgorithm): Hash {
  return createHash(algorithm);
}

/** The digest of a buffer. */
export function digestOf(content: Buffer, algorithm: DigestAlgorithm = 'sha256'): Digest {
  const hex = createHash(algorithm).update(content).digest('hex');
  return { algorithm, hex, text: `${algorithm}:${hex}` };
}
