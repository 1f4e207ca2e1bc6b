import { chmod, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { createFileOnce, replaceFile } from '@swarmlet/common';
import { sshFingerprint } from './public-key.js';

/** The receiver's SSH host key. */
export interface HostKey {
  /** The private key file (OpenSSH format, mode 0600). */
  path: string;
  /** The private key in OpenSSH format, as ssh2's `hostKeys` takes it. */
  privateKey: string;
  /** The public key as one `ssh-ed25519 AAAA…` line, as `known_hosts` and `ssh-keyscan` show it. */
  publicKey: string;
  /** `SHA256:…`, as `ssh-keygen -l` and the SSH client print it. */
  fingerprint: string;
  /** Whether this call generated the key. */
  created: boolean;
}

/** The host key's file name under the directory given to {@link loadOrCreateHostKey}. */
export const HOST_KEY_FILE = 'ssh_host_ed25519_key';

/**
 * Loads the Ed25519 host key kept in `directory`, generating it on first use. The private key is created with mode
 * 0600 in one atomic step (two processes starting at once end up with the same key); an existing key readable by
 * others is narrowed back to 0600. The public key is written beside it as `<file>.pub`.
 * @throws Error naming the file when it exists but holds no usable private key.
 */
export async function loadOrCreateHostKey(directory: string): Promise<HostKey> {
  const path = join(directory, HOST_KEY_FILE);
  let privateKey = await readIfPresent(path);
  let created = false;
  if (privateKey === undefined) {
    const generated = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'swarmlet host key' });
    created = await createFileOnce(path, generated.private, 0o600);
    privateKey = created ? generated.private : await readFile(path, 'utf8');
  } else if (((await stat(path)).mode & 0o077) !== 0) {
    await chmod(path, 0o600);
  }
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error || !parsed.isPrivateKey()) {
    throw new Error(`${path} holds no usable SSH private key`);
  }
  const blob = parsed.getPublicSSH();
  const publicKey = `${parsed.type} ${blob.toString('base64')}`;
  await replaceFile(`${path}.pub`, `${publicKey}\n`, 0o644);
  return { path, privateKey, publicKey, fingerprint: sshFingerprint(blob), created };
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
