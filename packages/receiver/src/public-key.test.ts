import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { decodePublicKey, PublicKeyError, sshFingerprint, verifySignature } from './public-key.js';

function wireString(data: Buffer | string): Buffer {
  const bytes = Buffer.from(data);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function mpint(value: Buffer): Buffer {
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) start += 1;
  const trimmed = value.subarray(start);
  return wireString((trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.alloc(1), trimmed]) : trimmed);
}

function ed25519Point(key: KeyObject): Buffer {
  return Buffer.from(key.export({ format: 'jwk' }).x ?? '', 'base64url');
}

function p256Point(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x ?? '', 'base64url'),
    Buffer.from(jwk.y ?? '', 'base64url'),
  ]);
}

function securityKeyMessage(signed: Buffer, flags: number, counter: number): { tail: Buffer; message: Buffer } {
  const tail = Buffer.alloc(5);
  tail[0] = flags;
  tail.writeUInt32BE(counter, 1);
  const message = Buffer.concat([
    createHash('sha256').update('ssh:').digest(),
    tail,
    createHash('sha256').update(signed).digest(),
  ]);
  return { tail, message };
}

describe('decodePublicKey', () => {
  const dir = mkdtempSync(join(tmpdir(), 'swarmlet-pubkey-'));

  it.each([
    ['ed25519', []],
    ['rsa', ['-b', '2048']],
    ['ecdsa', ['-b', '256']],
    ['ecdsa', ['-b', '384']],
    ['ecdsa', ['-b', '521']],
  ])('decodes an ssh-keygen %s key %j with the fingerprint ssh-keygen prints', async (type, bits) => {
    const file = join(dir, `${type}${bits.join('')}`);
    await execa('ssh-keygen', ['-q', '-t', type, ...bits, '-N', '', '-C', 'me@laptop', '-f', file]);
    const [keyType = '', data = ''] = readFileSync(`${file}.pub`, 'utf8').split(' ');
    const key = decodePublicKey(keyType, data);
    const { stdout } = await execa('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`]);
    expect(stdout.split(' ')[1]).toBe(key.fingerprint);
    expect(key.type).toBe(keyType);
  });

  it('decodes security keys and their application, with the fingerprint ssh-keygen prints', async () => {
    const ed = generateKeyPairSync('ed25519').publicKey;
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const lines = [
      `sk-ssh-ed25519@openssh.com ${Buffer.concat([wireString('sk-ssh-ed25519@openssh.com'), wireString(ed25519Point(ed)), wireString('ssh:')]).toString('base64')}`,
      `sk-ecdsa-sha2-nistp256@openssh.com ${Buffer.concat([wireString('sk-ecdsa-sha2-nistp256@openssh.com'), wireString('nistp256'), wireString(p256Point(ec)), wireString('ssh:')]).toString('base64')}`,
    ];
    for (const line of lines) {
      const [type = '', data = ''] = line.split(' ');
      const key = decodePublicKey(type, data);
      expect(key.application).toBe('ssh:');
      const file = join(dir, 'sk.pub');
      writeFileSync(file, `${line}\n`);
      const { stdout } = await execa('ssh-keygen', ['-l', '-f', file]);
      expect(stdout.split(' ')[1]).toBe(key.fingerprint);
    }
  });

  it.each([
    ['ssh-dss', 'AAAAB3NzaC1kc3MAAACBAP', /unsupported key type/],
    ['ssh-ed25519-cert-v01@openssh.com', 'AAAA', /unsupported key type/],
    ['ssh-ed25519', 'not base64!', /base64/],
    ['ssh-ed25519', 'AAAAC3NzaC1lZDI1NTE5AAAAIE', /base64/],
    [
      'ssh-ed25519',
      Buffer.concat([wireString('ssh-ed25519'), wireString(Buffer.alloc(31))]).toString('base64'),
      /32 bytes/,
    ],
    [
      'ssh-rsa',
      Buffer.concat([wireString('ssh-ed25519'), wireString(Buffer.alloc(32))]).toString('base64'),
      /not ssh-rsa/,
    ],
    [
      'ssh-ed25519',
      Buffer.concat([wireString('ssh-ed25519'), Buffer.from([0, 0, 0, 40])]).toString('base64'),
      /truncated/,
    ],
    [
      'ssh-ed25519',
      Buffer.concat([wireString('ssh-ed25519'), wireString(Buffer.alloc(32)), Buffer.from([1])]).toString('base64'),
      /trailing/,
    ],
  ])('refuses %s %s', (type, data, message) => {
    expect(() => decodePublicKey(type, data)).toThrow(PublicKeyError);
    expect(() => decodePublicKey(type, data)).toThrow(message);
  });

  it('refuses RSA keys under 2048 bits', async () => {
    const file = join(dir, 'rsa1024');
    await execa('ssh-keygen', ['-q', '-t', 'rsa', '-b', '1024', '-N', '', '-f', file]);
    const [type = '', data = ''] = readFileSync(`${file}.pub`, 'utf8').split(' ');
    expect(() => decodePublicKey(type, data)).toThrow('RSA keys shorter than 2048 bits are refused');
  });

  it('refuses a point that is not on the curve', () => {
    const point = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]);
    const data = Buffer.concat([wireString('ecdsa-sha2-nistp256'), wireString('nistp256'), wireString(point)]);
    expect(() => decodePublicKey('ecdsa-sha2-nistp256', data.toString('base64'))).toThrow('not a valid public key');
  });
});

describe('verifySignature', () => {
  const signed = Buffer.from('session id and userauth request');

  it('checks Ed25519, ECDSA and RSA signatures in the form ssh2 hands them over', () => {
    const ed = generateKeyPairSync('ed25519');
    const edKey = decodePublicKey(
      'ssh-ed25519',
      Buffer.concat([wireString('ssh-ed25519'), wireString(ed25519Point(ed.publicKey))]).toString('base64'),
    );
    expect(verifySignature(edKey, signed, sign(null, signed, ed.privateKey), undefined)).toBe(true);
    expect(verifySignature(edKey, Buffer.from('other'), sign(null, signed, ed.privateKey), undefined)).toBe(false);

    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ecKey = decodePublicKey(
      'ecdsa-sha2-nistp256',
      Buffer.concat([
        wireString('ecdsa-sha2-nistp256'),
        wireString('nistp256'),
        wireString(p256Point(ec.publicKey)),
      ]).toString('base64'),
    );
    expect(verifySignature(ecKey, signed, sign('sha256', signed, ec.privateKey), undefined)).toBe(true);

    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = rsa.publicKey.export({ format: 'jwk' });
    const rsaKey = decodePublicKey(
      'ssh-rsa',
      Buffer.concat([
        wireString('ssh-rsa'),
        mpint(Buffer.from(jwk.e ?? '', 'base64url')),
        mpint(Buffer.from(jwk.n ?? '', 'base64url')),
      ]).toString('base64'),
    );
    expect(verifySignature(rsaKey, signed, sign('sha512', signed, rsa.privateKey), 'sha512')).toBe(true);
    expect(verifySignature(rsaKey, signed, sign('sha1', signed, rsa.privateKey), undefined)).toBe(false);
    expect(verifySignature(rsaKey, signed, Buffer.alloc(3), 'sha256')).toBe(false);
  });

  it('checks security-key signatures, requiring presence and, when asked, verification', () => {
    const ed = generateKeyPairSync('ed25519');
    const key = decodePublicKey(
      'sk-ssh-ed25519@openssh.com',
      Buffer.concat([
        wireString('sk-ssh-ed25519@openssh.com'),
        wireString(ed25519Point(ed.publicKey)),
        wireString('ssh:'),
      ]).toString('base64'),
    );
    const signature = (flags: number): Buffer => {
      const { tail, message } = securityKeyMessage(signed, flags, 7);
      return Buffer.concat([sign(null, message, ed.privateKey), tail]);
    };
    expect(verifySignature(key, signed, signature(0x01), undefined)).toBe(true);
    expect(verifySignature(key, signed, signature(0x00), undefined)).toBe(false);
    expect(verifySignature(key, signed, signature(0x01), undefined, { requireUserVerification: true })).toBe(false);
    expect(verifySignature(key, signed, signature(0x05), undefined, { requireUserVerification: true })).toBe(true);

    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ecKey = decodePublicKey(
      'sk-ecdsa-sha2-nistp256@openssh.com',
      Buffer.concat([
        wireString('sk-ecdsa-sha2-nistp256@openssh.com'),
        wireString('nistp256'),
        wireString(p256Point(ec.publicKey)),
        wireString('ssh:'),
      ]).toString('base64'),
    );
    const { tail, message } = securityKeyMessage(signed, 0x01, 9);
    const raw = sign('sha256', message, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
    const ecSignature = Buffer.concat([mpint(raw.subarray(0, 32)), mpint(raw.subarray(32)), tail]);
    expect(verifySignature(ecKey, signed, ecSignature, undefined)).toBe(true);
    expect(verifySignature(ecKey, Buffer.from('other'), ecSignature, undefined)).toBe(false);
  });
});

describe('sshFingerprint', () => {
  it('is the unpadded base64 SHA-256 of the blob', () => {
    expect(sshFingerprint(Buffer.from(''))).toBe('SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU');
  });
});
