import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import { execa } from 'execa';
import { loadRegistryConfig } from './config.js';
import { startRegistry } from './server.js';
import { readTlsPair } from './tls.js';
import { captureLogger, thrownConfigError as configError } from '../../../test/support/capture.js';

interface Pair {
  certificate: string;
  key: string;
  fingerprint: string;
}

const dir = mkdtempSync(join(tmpdir(), 'swarmlet-tls-'));

async function selfSigned(name: string): Promise<Pair> {
  const certificate = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await execa('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=localhost/O=${name}`,
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout',
    key,
    '-out',
    certificate,
  ]);
  return { certificate, key, fingerprint: new X509Certificate(readFileSync(certificate)).fingerprint256 };
}

const captureLog = () => captureLogger('registry');

async function until<T>(probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('condition not met in time');
}

/** GET over a new TLS connection that trusts only `trusted`; resolves with the status, body and served certificate. */
function getOverTls(
  port: number,
  path: string,
  trusted: Pair[],
): Promise<{ status: number | undefined; body: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        agent: false,
        ca: trusted.map((pair) => readFileSync(pair.certificate)),
      },
      (response) => {
        const socket = response.socket;
        if (!(socket instanceof TLSSocket)) {
          reject(new Error('the response did not come over TLS'));
          return;
        }
        const fingerprint = socket.getPeerCertificate().fingerprint256;
        const parts: Buffer[] = [];
        response.on('data', (chunk: Buffer) => parts.push(chunk));
        response.on('end', () => {
          resolve({ status: response.statusCode, body: Buffer.concat(parts).toString('utf8'), fingerprint });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end();
  });
}

describe('readTlsPair', () => {
  it('reads a matching certificate and key', async () => {
    const pair = await selfSigned('good');
    const read = readTlsPair(pair);
    expect(read.summary).toEqual(
      expect.objectContaining({ subject: 'CN=localhost\nO=good', fingerprint256: pair.fingerprint }),
    );
    expect(read.key.equals(readFileSync(pair.key))).toBe(true);
  });

  it('names the file at fault: unreadable, incomplete, not a key, or not the certificate’s key', async () => {
    const [one, two] = await Promise.all([selfSigned('one'), selfSigned('two')]);
    const missing = join(dir, 'missing.pem');
    const half = join(dir, 'half.crt');
    const pem = readFileSync(one.certificate, 'utf8');
    writeFileSync(half, pem.slice(0, pem.length / 2));
    const cases: [Parameters<typeof readTlsPair>[0], string, RegExp][] = [
      [{ certificate: missing, key: one.key }, 'http.tls.certificate', /cannot read .*missing\.pem \(ENOENT\)/],
      [{ certificate: one.certificate, key: missing }, 'http.tls.key', /cannot read .*missing\.pem \(ENOENT\)/],
      [{ certificate: half, key: one.key }, 'http.tls.certificate', /half\.crt is not a complete PEM file/],
      [{ certificate: one.key, key: one.key }, 'http.tls.certificate', /does not start with a PEM certificate/],
      [{ certificate: one.certificate, key: one.certificate }, 'http.tls.key', /holds no unencrypted PEM private key/],
      [{ certificate: one.certificate, key: two.key }, 'http.tls.key', /two\.key is not the key of the certificate/],
    ];
    for (const [files, setting, problem] of cases) {
      const error = configError(() => readTlsPair(files));
      expect(error.setting).toBe(setting);
      expect(error.message).toMatch(problem);
    }
  });
});

describe('startRegistry with http.tls', () => {
  const rootdirectory = mkdtempSync(join(tmpdir(), 'swarmlet-tls-root-'));

  it('stops start-up naming the unreadable file', async () => {
    const config = loadRegistryConfig(
      {
        http: { addr: '127.0.0.1:0', tls: { certificate: join(dir, 'nope.crt'), key: join(dir, 'nope.key') } },
        storage: { filesystem: { rootdirectory } },
      },
      {},
    );
    await expect(startRegistry(config, captureLog().log)).rejects.toThrow(
      /^invalid setting http\.tls\.certificate: cannot read .*nope\.crt/,
    );
  });

  it('serves HTTPS and picks up a renewed pair without a restart, ignoring half-written and mismatched ones', async () => {
    const [first, second, third] = await Promise.all([selfSigned('first'), selfSigned('second'), selfSigned('third')]);
    const served = { certificate: join(dir, 'served.crt'), key: join(dir, 'served.key') };
    const install = (
      pair: Pair,
      parts: { certificate?: boolean; key?: boolean } = { certificate: true, key: true },
    ) => {
      if (parts.certificate === true) writeFileSync(served.certificate, readFileSync(pair.certificate));
      if (parts.key === true) writeFileSync(served.key, readFileSync(pair.key));
    };
    install(first);
    const out = captureLog();
    const config = loadRegistryConfig(
      { http: { addr: '127.0.0.1:0', tls: served }, storage: { filesystem: { rootdirectory } } },
      {},
    );
    const registry = await startRegistry(config, out.log, { tls: { pollMs: 50 } });
    const trusted = [first, second, third];
    const warnedAfter = (mark: number, problem: RegExp) => () =>
      out
        .lines()
        .slice(mark)
        .some((line) => line.level === 40 && problem.test(String(line.problem)))
        ? true
        : undefined;
    try {
      const initial = await getOverTls(registry.port, '/v2/', trusted);
      expect(initial).toEqual({ status: 200, body: '{}', fingerprint: first.fingerprint });

      install(second);
      await until(async () => {
        const { fingerprint } = await getOverTls(registry.port, '/v2/', trusted);
        return fingerprint === second.fingerprint ? true : undefined;
      });
      expect(out.lines()).toContainEqual(
        expect.objectContaining({
          msg: 'TLS certificate reloaded',
          certificate: expect.objectContaining({ fingerprint256: second.fingerprint }) as unknown,
        }),
      );

      const pem = readFileSync(third.certificate, 'utf8');
      let mark = out.lines().length;
      writeFileSync(served.certificate, pem.slice(0, pem.length / 2));
      await until(
        warnedAfter(mark, /^invalid setting http\.tls\.certificate: .*served\.crt is not a complete PEM file$/),
      );
      expect((await getOverTls(registry.port, '/v2/', trusted)).fingerprint).toBe(second.fingerprint);

      mark = out.lines().length;
      install(third, { certificate: true });
      await until(
        warnedAfter(mark, /^invalid setting http\.tls\.key: .*served\.key is not the key of the certificate/),
      );
      expect((await getOverTls(registry.port, '/v2/', trusted)).fingerprint).toBe(second.fingerprint);

      install(third, { key: true });
      await until(async () => {
        const { fingerprint } = await getOverTls(registry.port, '/v2/', trusted);
        return fingerprint === third.fingerprint ? true : undefined;
      });
    } finally {
      await registry.close();
    }

    const linesAtClose = out.lines().length;
    install(first);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(out.lines()).toHaveLength(linesAtClose);
  });
});
