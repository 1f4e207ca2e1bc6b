import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders, type RequestOptions } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';
import type Docker from 'dockerode';
import { execa } from 'execa';
import { ensureStandInImage, freePort, waitFor } from './docker.js';

/** Which implementation a started registry runs: ours (`packages/registry`) or Debian's CNCF registry 2.8. */
export type RegistryKind = 'swarmlet' | 'peer';

/** How to start a registry on 127.0.0.1 for a test or a benchmark. */
export interface RegistryOptions {
  /** `storage.filesystem.rootdirectory`; the caller creates and removes it, so a second registry can reuse it. */
  root: string;
  /** An htpasswd file (see `writeHtpasswd`); basic auth is on when given. */
  htpasswd?: string;
  /** `storage.delete.enabled` (default false). */
  deleteEnabled?: boolean;
  /** Logs warnings and errors only, without access logs (default false: info and access logs, for diagnostics). */
  quiet?: boolean;
}

/** Options of our registry: the common ones plus environment variables (`REGISTRY_*`) layered over its config file. */
export interface SwarmletRegistryOptions extends RegistryOptions {
  extraEnv?: Record<string, string>;
}

/** A registry process that answers on `url`. */
export interface TestRegistry {
  kind: RegistryKind;
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** `127.0.0.1:<port>`, the registry part of an image reference. */
  host: string;
  pid: number;
  /** The last 256 KiB of what the process wrote to stdout and stderr, for a failure's diagnostics. */
  output(): string;
  /** SIGTERM, then SIGKILL when it has not exited after 10 s; resolves once it exited. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL; resolves once it exited. Idempotent. */
  kill(): Promise<void>;
}

const OUTPUT_LIMIT = 256 * 1024;
const STOP_GRACE_MS = 10_000;
const BCRYPT_COST = 5;

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Writes an htpasswd file with one bcrypt entry (made with bcryptjs) per user and returns its path. */
export function writeHtpasswd(path: string, users: Record<string, string>): string {
  const lines = Object.entries(users).map(([user, password]) => `${user}:${bcrypt.hashSync(password, BCRYPT_COST)}\n`);
  writeFileSync(path, lines.join(''), { mode: 0o600 });
  return path;
}

/**
 * Starts our registry (`node packages/registry/dist/main.js serve <config>`, built by `npm run build`) with a temp
 * config file in the CNCF registry's format (written as JSON, which YAML parsers read) and resolves once `GET /v2/`
 * answers 200 or 401. Inherited `REGISTRY_*` variables are dropped; `extraEnv` is added. Rejects with the process's
 * output when it exits or does not answer.
 */
export async function startSwarmletRegistry(options: SwarmletRegistryOptions): Promise<TestRegistry> {
  const entry = join(findRepoRoot(), 'packages', 'registry', 'dist', 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run 'npm run build' first`);
  return startRegistryProcess('swarmlet', options, options.extraEnv ?? {}, (config) => [
    process.execPath,
    [entry, 'serve', config],
  ]);
}

/**
 * Starts Debian's CNCF registry (`docker-registry serve <config>`) with a temp config file, never the system's
 * service or `/etc/docker/registry`, and resolves once `GET /v2/` answers 200 or 401. Rejects with the process's
 * output when it exits or does not answer.
 */
export function startPeerRegistry(options: RegistryOptions): Promise<TestRegistry> {
  return startRegistryProcess('peer', options, {}, (config) => ['docker-registry', ['serve', config]]);
}

/**
 * Starts the registry the end-to-end registry tests are about: ours, or the peer when `SWARMLET_TEST_REGISTRY=peer`,
 * which checks the tests themselves against a known-good registry.
 * @throws Error when `SWARMLET_TEST_REGISTRY` names neither.
 */
export function startRegistryUnderTest(options: SwarmletRegistryOptions): Promise<TestRegistry> {
  const kind = process.env.SWARMLET_TEST_REGISTRY ?? 'swarmlet';
  if (kind === 'swarmlet') return startSwarmletRegistry(options);
  if (kind === 'peer') return startPeerRegistry(options);
  throw new Error(`SWARMLET_TEST_REGISTRY must be 'swarmlet' or 'peer', got '${kind}'`);
}

async function startRegistryProcess(
  kind: RegistryKind,
  options: RegistryOptions,
  extraEnv: Record<string, string>,
  command: (configPath: string) => [string, string[]],
): Promise<TestRegistry> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const url = `http://${host}`;
  const configDir = mkdtempSync(join(tmpdir(), `swarmlet-${kind}-registry-`));
  const configPath = join(configDir, 'config.yml');
  writeFileSync(configPath, `${JSON.stringify(configDocument(options, host), null, 2)}\n`);

  const [file, args] = command(configPath);
  const child = spawn(file, args, { env: childEnv(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<string>((resolve) => {
    child.once('error', (error) => {
      resolve(`could not start ${file}: ${error.message}`);
    });
    child.once('exit', (code, signal) => {
      resolve(`exited with ${signal ?? `code ${code ?? '?'}`}`);
    });
  }).finally(() => {
    running.delete(child);
  });
  let ended: string | undefined;
  void exited.then((how) => (ended = how));

  const end = async (signal: NodeJS.Signals): Promise<void> => {
    if (ended === undefined) {
      child.kill(signal);
      const timer = signal === 'SIGKILL' ? undefined : setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    rmSync(configDir, { recursive: true, force: true });
  };

  const answering = waitFor(
    `the ${kind} registry to answer GET ${url}/v2/`,
    async () => {
      if (ended !== undefined) return ended;
      const response = await fetch(`${url}/v2/`);
      await response.body?.cancel();
      return response.status === 200 || response.status === 401 ? 'ready' : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  const outcome = await answering.catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
  if (outcome !== 'ready') {
    await end('SIGKILL');
    throw new Error(`the ${kind} registry did not start (${outcome}); its output:\n${output}`);
  }
  return {
    kind,
    url,
    host,
    pid: child.pid ?? -1,
    output: () => output,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
  };
}

function configDocument(options: RegistryOptions, addr: string): Record<string, unknown> {
  return {
    version: '0.1',
    log: {
      level: options.quiet === true ? 'warn' : 'info',
      accesslog: { disabled: options.quiet === true },
    },
    storage: {
      filesystem: { rootdirectory: options.root },
      delete: { enabled: options.deleteEnabled ?? false },
    },
    http: { addr },
    ...(options.htpasswd === undefined
      ? {}
      : { auth: { htpasswd: { realm: 'swarmlet-test', path: options.htpasswd } } }),
  };
}

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(([name]) => !name.startsWith('REGISTRY_'));
  return { ...Object.fromEntries(inherited), ...extra };
}

function findRepoRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'packages', 'registry', 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no repository root above ${fileURLToPath(import.meta.url)}`);
  }
}

/** The manifest media types a client accepts, so a registry never answers with a converted or older manifest. */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

/**
 * `HEAD /v2/<name>/manifests/<reference>` and the `Docker-Content-Digest` it answers.
 * @throws Error with the status when the answer is not 200 or has no digest.
 */
export async function manifestDigest(
  registry: TestRegistry,
  name: string,
  reference: string,
  headers: Record<string, string> = {},
): Promise<string> {
  const response = await fetch(`${registry.url}/v2/${name}/manifests/${reference}`, {
    method: 'HEAD',
    headers: { accept: MANIFEST_ACCEPT, ...headers },
  });
  const digest = response.headers.get('docker-content-digest');
  if (response.status !== 200 || digest === null) {
    throw new Error(`HEAD manifest ${name}:${reference} answered ${response.status} (digest ${digest ?? 'none'})`);
  }
  return digest;
}

/**
 * Runs `body` and, when it rejects, rejects with the same message followed by the last 16 KiB of each registry's
 * output, so a failing end-to-end test shows what the registry said.
 */
export async function withRegistryOutput<T>(registries: readonly TestRegistry[], body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const outputs = registries.map(
      (registry) => `--- ${registry.kind} registry ${registry.host} ---\n${registry.output().slice(-16_384)}`,
    );
    throw new Error([message, ...outputs].join('\n'), { cause: error });
  }
}

/** The docker CLI on the test engine with a config directory of its own, so `docker login` never touches ~/.docker. */
export interface DockerCli {
  /**
   * Runs `docker <args>` (an argument array, never a shell string) with `input` on stdin and resolves with its stdout.
   * Rejects with an error whose message holds the command's stderr when it exits non-zero.
   */
  run(args: readonly string[], input?: string): Promise<string>;
  /** Removes the config directory with any credentials `docker login` stored in it. */
  dispose(): void;
}

/** The Docker socket the tests use, as `docker -H` and skopeo's `--*-daemon-host` take it. */
export const dockerHost = `unix://${process.env.SWARMLET_TEST_DOCKER_SOCKET ?? '/var/run/docker.sock'}`;

/** Makes a `DockerCli` with a fresh temp config directory; the caller disposes of it. */
export function dockerCli(): DockerCli {
  const configDir = mkdtempSync(join(tmpdir(), 'swarmlet-docker-config-'));
  const env = { DOCKER_CONFIG: configDir, DOCKER_HOST: dockerHost, DOCKER_BUILDKIT: '0' };
  return {
    run: async (args, input) =>
      (await execa('docker', args, { env, ...(input === undefined ? {} : { input }) })).stdout,
    dispose: () => {
      rmSync(configDir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs `skopeo <args>` and resolves with its stdout exactly as written (a raw manifest keeps its bytes).
 * Rejects with an error whose message holds skopeo's stderr when it exits non-zero.
 */
export async function skopeo(args: readonly string[]): Promise<string> {
  return (await execa('skopeo', args, { stripFinalNewline: false })).stdout;
}

/**
 * Builds `tag` from the busybox stand-in with the docker CLI: two COPY and two RUN layers of fresh random content
 * over the base layer, so each build has a new image ID and layers that no registry holds yet. The image carries
 * `swarmlet.test=true`; resolves with its ID, and the caller removes it.
 */
export async function buildLayeredImage(docker: Docker, cli: DockerCli, tag: string): Promise<string> {
  await ensureStandInImage(docker, 'busybox');
  const context = mkdtempSync(join(tmpdir(), 'swarmlet-layered-image-'));
  try {
    writeFileSync(join(context, 'random.bin'), randomBytes(1536 * 1024));
    writeFileSync(join(context, 'note.txt'), `${tag} ${randomBytes(16).toString('hex')}\n`);
    writeFileSync(
      join(context, 'Dockerfile'),
      [
        'FROM busybox',
        'COPY random.bin /layers/random.bin',
        'RUN dd if=/dev/urandom of=/layers/urandom.bin bs=65536 count=40',
        'COPY note.txt /layers/note.txt',
        'RUN ls -l /layers > /layers/listing && date > /layers/built-at',
        '',
      ].join('\n'),
    );
    await cli.run(['build', '--quiet', '--label', 'swarmlet.test=true', '--tag', tag, context]);
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
  return (await docker.getImage(tag).inspect()).Id;
}

/** An HTTP answer with its whole body. */
export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * One HTTP request as `options` say (the path is sent as it is, never normalised), with `body` written whole or,
 * when it is an iterable of chunks, streamed. Resolves with the answer and its whole body; rejects on a network
 * error, or when the socket is idle for `options.timeout` ms.
 */
export function httpRequest(options: RequestOptions, body?: Buffer | string | Iterable<Buffer>): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(options);
    const what = `${options.method ?? 'GET'} ${(options.path ?? '').split('?')[0] ?? ''}`;
    outgoing.once('timeout', () => outgoing.destroy(new Error(`${what} timed out`)));
    outgoing.once('error', reject);
    outgoing.once('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('error', reject);
      response.once('end', () => {
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) });
      });
    });
    if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) outgoing.end(body);
    else pipeline(Readable.from(body), outgoing).catch(reject);
  });
}
