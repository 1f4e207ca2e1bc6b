import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import type { RequestListener } from 'node:http';
import { createServer, type Server } from 'node:https';
import { createSecureContext } from 'node:tls';
import { ConfigError, type Logger } from '@swarmlet/common';
import type { RegistryConfig } from './config.js';

/** The certificate and key files of `http.tls`. */
export type TlsFiles = NonNullable<RegistryConfig['http']['tls']>;

/** A checked certificate and key pair, as read from {@link TlsFiles}. */
export interface TlsPair {
  /** The certificate file's content: the server certificate, optionally followed by its chain. */
  cert: Buffer;
  key: Buffer;
  /** The server certificate's subject, validity end and SHA-256 fingerprint, for logs. */
  summary: { subject: string; validTo: string; fingerprint256: string };
}

/** Tuning for {@link createTlsServer}. */
export interface TlsWatchOptions {
  /** How often (ms) the files are polled, and how long a change must settle before it is loaded; default 2000. */
  pollMs?: number;
}

const DEFAULT_POLL_MS = 2000;

/**
 * Reads the certificate and key files and checks that they form a usable pair: the certificate file holds complete
 * PEM blocks starting with a certificate, the key file holds an unencrypted private key, and the key belongs to that
 * certificate.
 * @throws ConfigError naming `http.tls.certificate` or `http.tls.key` (whichever file is at fault) when a file is
 *   unreadable, incomplete or invalid, or when the key does not match the certificate.
 */
export function readTlsPair(files: TlsFiles): TlsPair {
  const cert = readPem(files.certificate, 'http.tls.certificate');
  const key = readPem(files.key, 'http.tls.key');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw new ConfigError('http.tls.certificate', `${files.certificate} does not start with a PEM certificate`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new ConfigError('http.tls.key', `${files.key} holds no unencrypted PEM private key`);
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new ConfigError('http.tls.key', `${files.key} is not the key of the certificate in ${files.certificate}`);
  }
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw new ConfigError('http.tls.certificate', `${files.certificate} is not usable (${(error as Error).message})`);
  }
  const { subject, validTo, fingerprint256 } = certificate;
  return { cert, key, summary: { subject, validTo, fingerprint256 } };
}

/**
 * Creates an HTTPS server for `listener` with the pair read from `files` by {@link readTlsPair}, and keeps it
 * current: the files are polled (symbolic links followed, so certbot's and Kubernetes' rotations are seen), and once
 * a change has settled the pair is read again and installed with `setSecureContext` for new connections. A pair
 * that is unreadable, half-written or mismatched is logged as a warning and ignored, and the previous pair stays in
 * service until a later change brings a good one. Polling stops when the server closes.
 * @throws ConfigError naming `http.tls.certificate` or `http.tls.key` when the pair is unusable at start-up.
 */
export function createTlsServer(
  files: TlsFiles,
  listener: RequestListener,
  log: Logger,
  options: TlsWatchOptions = {},
): Server {
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  let current = readTlsPair(files);
  const server = createServer({ cert: current.cert, key: current.key }, listener);
  log.info({ certificate: current.summary }, 'TLS certificate loaded');
  let settling: NodeJS.Timeout | undefined;

  const reload = (): void => {
    settling = undefined;
    let next: TlsPair;
    try {
      next = readTlsPair(files);
    } catch (error) {
      log.warn(
        { problem: (error as Error).message },
        'TLS files changed but are not a usable pair; still serving the previous certificate',
      );
      return;
    }
    if (next.cert.equals(current.cert) && next.key.equals(current.key)) return;
    server.setSecureContext({ cert: next.cert, key: next.key });
    current = next;
    log.info({ certificate: next.summary }, 'TLS certificate reloaded');
  };
  const changed = (now: Stats, before: Stats): void => {
    if (now.mtimeMs === before.mtimeMs && now.ino === before.ino && now.size === before.size) return;
    clearTimeout(settling);
    settling = setTimeout(reload, pollMs);
  };

  const paths = [files.certificate, files.key];
  for (const path of paths) watchFile(path, { interval: pollMs, persistent: false }, changed);
  server.once('close', () => {
    for (const path of paths) unwatchFile(path, changed);
    clearTimeout(settling);
  });
  return server;
}

function readPem(path: string, setting: string): Buffer {
  let content: Buffer;
  try {
    content = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new ConfigError(setting, `cannot read ${path} (${code})`);
  }
  const text = content.toString('latin1');
  const begins = text.match(/^-----BEGIN [A-Z0-9 ]+-----\s*$/gm)?.length ?? 0;
  const ends = text.match(/^-----END [A-Z0-9 ]+-----\s*$/gm)?.length ?? 0;
  if (begins === 0 || begins !== ends) throw new ConfigError(setting, `${path} is not a complete PEM file`);
  return content;
}
