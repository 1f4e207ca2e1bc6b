import { createHash, createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';

/** The user key types the receiver accepts, as OpenSSH names them. */
export const PUBLIC_KEY_TYPES = [
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
] as const;

/** One of {@link PUBLIC_KEY_TYPES}. */
export type PublicKeyType = (typeof PUBLIC_KEY_TYPES)[number];

/** The smallest RSA modulus accepted, in bits. */
export const MIN_RSA_BITS = 2048;

/** A decoded SSH public key. */
export interface PublicKey {
  type: PublicKeyType;
  /** The key in SSH wire format, as a client sends it during authentication. */
  blob: Buffer;
  /** `SHA256:` and the unpadded base64 of the blob's SHA-256, as `ssh-keygen -l` prints it. */
  fingerprint: string;
  /** The key for `node:crypto`. */
  key: KeyObject;
  /** For security keys (`sk-*`): the FIDO application the key is bound to, usually `ssh:`. */
  application?: string;
}

/** A public key that cannot be decoded or is not accepted. The message says why. */
export class PublicKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PublicKeyError';
  }
}

/** Whether `type` names one of {@link PUBLIC_KEY_TYPES}. */
export function isPublicKeyType(type: string): type is PublicKeyType {
  return (PUBLIC_KEY_TYPES as readonly string[]).includes(type);
}

/** The OpenSSH SHA-256 fingerprint of a key blob: `SHA256:` and the unpadded base64 digest. */
export function sshFingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * Decodes the base64 part of an OpenSSH public key line declared as `type`. The blob must be well formed, name
 * the same type, hold a valid key on its curve, and (RSA) have at least {@link MIN_RSA_BITS} bits.
 * @throws PublicKeyError saying what is wrong.
 */
export function decodePublicKey(type: string, base64: string): PublicKey {
  if (!isPublicKeyType(type)) throw new PublicKeyError(`unsupported key type ${JSON.stringify(type.slice(0, 60))}`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64) || base64.length % 4 !== 0) {
    throw new PublicKeyError('the key is not valid base64');
  }
  const blob = Buffer.from(base64, 'base64');
  const reader = new WireReader(blob);
  const inner = reader.string().toString('latin1');
  if (inner !== type)
    throw new PublicKeyError(`the key data is a ${JSON.stringify(inner.slice(0, 60))} key, not ${type}`);
  let jwk: JsonWebKey;
  let application: string | undefined;
  switch (type) {
    case 'ssh-ed25519':
    case 'sk-ssh-ed25519@openssh.com': {
      const point = reader.string();
      if (point.length !== 32) throw new PublicKeyError('an Ed25519 key has 32 bytes');
      jwk = { kty: 'OKP', crv: 'Ed25519', x: point.toString('base64url') };
      break;
    }
    case 'ssh-rsa': {
      const e = unsigned(reader.string());
      const n = unsigned(reader.string());
      if (bitLength(n) < MIN_RSA_BITS)
        throw new PublicKeyError(`RSA keys shorter than ${MIN_RSA_BITS} bits are refused`);
      jwk = { kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') };
      break;
    }
    default: {
      const curve = CURVES[type];
      if (reader.string().toString('latin1') !== curve.name)
        throw new PublicKeyError(`the key's curve is not ${curve.name}`);
      const point = reader.string();
      if (point.length !== 1 + 2 * curve.size || point[0] !== 4) {
        throw new PublicKeyError(`not an uncompressed ${curve.name} point`);
      }
      jwk = {
        kty: 'EC',
        crv: curve.jwk,
        x: point.subarray(1, 1 + curve.size).toString('base64url'),
        y: point.subarray(1 + curve.size).toString('base64url'),
      };
    }
  }
  if (type.startsWith('sk-')) application = reader.string().toString('utf8');
  reader.end();
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk, format: 'jwk' });
  } catch {
    throw new PublicKeyError('the key data is not a valid public key');
  }
  const decoded: PublicKey = { type, blob, fingerprint: sshFingerprint(blob), key };
  if (application !== undefined) decoded.application = application;
  return decoded;
}

/** What {@link verifySignature} checks beyond the signature itself. */
export interface VerifyOptions {
  /** Security keys only: require the user-verified flag (a PIN or biometric), as `verify-required` asks. */
  requireUserVerification?: boolean;
}

/**
 * Checks an SSH user-authentication signature over `signed` (the session identifier and request, as ssh2 hands
 * them over in `ctx.blob`). `signature` is in the form ssh2 delivers: the algorithm header removed, ECDSA
 * converted to DER; for security keys the raw signature followed by the flags byte and the counter.
 * `hashAlgo` is ssh2's `ctx.hashAlgo`: RSA must use `sha256` or `sha512` (SHA-1 `ssh-rsa` signatures are
 * refused, as OpenSSH does). Security keys must assert user presence. Never throws for a bad signature.
 */
export function verifySignature(
  publicKey: PublicKey,
  signed: Buffer,
  signature: Buffer,
  hashAlgo: string | undefined,
  options: VerifyOptions = {},
): boolean {
  try {
    switch (publicKey.type) {
      case 'ssh-ed25519':
        return verify(null, signed, publicKey.key, signature);
      case 'ssh-rsa':
        return (hashAlgo === 'sha256' || hashAlgo === 'sha512') && verify(hashAlgo, signed, publicKey.key, signature);
      case 'sk-ssh-ed25519@openssh.com':
      case 'sk-ecdsa-sha2-nistp256@openssh.com':
        return verifySecurityKey(publicKey, signed, signature, options);
      default:
        return verify(CURVES[publicKey.type].hash, signed, publicKey.key, signature);
    }
  } catch {
    return false;
  }
}

const USER_PRESENT = 0x01;
const USER_VERIFIED = 0x04;

function verifySecurityKey(publicKey: PublicKey, signed: Buffer, signature: Buffer, options: VerifyOptions): boolean {
  let raw: Buffer;
  let tail: Buffer;
  if (publicKey.type === 'sk-ssh-ed25519@openssh.com') {
    raw = signature.subarray(0, 64);
    tail = signature.subarray(64);
  } else {
    const reader = new WireReader(signature);
    raw = Buffer.concat([fixedWidth(reader.string(), 32), fixedWidth(reader.string(), 32)]);
    tail = reader.rest();
  }
  if (raw.length !== 64 || tail.length !== 5) return false;
  const flags = tail[0] ?? 0;
  if ((flags & USER_PRESENT) === 0) return false;
  if (options.requireUserVerification && (flags & USER_VERIFIED) === 0) return false;
  const message = Buffer.concat([
    createHash('sha256')
      .update(publicKey.application ?? '')
      .digest(),
    tail,
    createHash('sha256').update(signed).digest(),
  ]);
  if (publicKey.type === 'sk-ssh-ed25519@openssh.com') return verify(null, message, publicKey.key, raw);
  return verify('sha256', message, { key: publicKey.key, dsaEncoding: 'ieee-p1363' }, raw);
}

const CURVES = {
  'ecdsa-sha2-nistp256': { name: 'nistp256', jwk: 'P-256', size: 32, hash: 'sha256' },
  'ecdsa-sha2-nistp384': { name: 'nistp384', jwk: 'P-384', size: 48, hash: 'sha384' },
  'ecdsa-sha2-nistp521': { name: 'nistp521', jwk: 'P-521', size: 66, hash: 'sha512' },
  'sk-ecdsa-sha2-nistp256@openssh.com': { name: 'nistp256', jwk: 'P-256', size: 32, hash: 'sha256' },
} as const;

function unsigned(mpint: Buffer): Buffer {
  let start = 0;
  while (start < mpint.length - 1 && mpint[start] === 0) start += 1;
  return mpint.subarray(start);
}

function bitLength(value: Buffer): number {
  const top = value[0] ?? 0;
  return top === 0 ? 0 : (value.length - 1) * 8 + Math.floor(Math.log2(top)) + 1;
}

function fixedWidth(mpint: Buffer, width: number): Buffer {
  const value = unsigned(mpint);
  if (value.length > width) return Buffer.alloc(0);
  return Buffer.concat([Buffer.alloc(width - value.length), value]);
}

/** Reads length-prefixed SSH wire strings with bounds checks. */
class WireReader {
  private offset = 0;

  constructor(private readonly data: Buffer) {}

  string(): Buffer {
    if (this.offset + 4 > this.data.length) throw new PublicKeyError('the key data is truncated');
    const length = this.data.readUInt32BE(this.offset);
    const start = this.offset + 4;
    if (start + length > this.data.length) throw new PublicKeyError('the key data is truncated');
    this.offset = start + length;
    return this.data.subarray(start, this.offset);
  }

  rest(): Buffer {
    const rest = this.data.subarray(this.offset);
    this.offset = this.data.length;
    return rest;
  }

  end(): void {
    if (this.offset !== this.data.length) throw new PublicKeyError('the key data has trailing bytes');
  }
}
