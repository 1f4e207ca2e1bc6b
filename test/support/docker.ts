import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { execa } from 'execa';

/** The repository's root directory: the nearest one up holding `packages/` and `stacks/` (also from `bench/dist/`). */
export const repoRoot = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'packages', 'cli')) && existsSync(join(dir, 'stacks'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no repository root above ${start}`);
  }
}

/** The label every Docker object a test creates carries, so a cleanup can find what a crashed run left. */
export const TEST_LABELS = { 'swarmlet.test': 'true' } as const;

/**
 * The Docker engine the tests use: `/var/run/docker.sock`, or the socket named by `SWARMLET_TEST_DOCKER_SOCKET`.
 * Rejects with a message that says how to bring one up when it does not answer; tests never skip for that.
 */
export async function requireEngine(): Promise<Docker> {
  const socketPath = process.env.SWARMLET_TEST_DOCKER_SOCKET ?? '/var/run/docker.sock';
  const docker = new Docker({ socketPath });
  try {
    await docker.ping();
  } catch (error) {
    throw new Error(
      `no Docker engine answers on ${socketPath} (${(error as Error).message}); run 'bash scripts/ensure-docker.sh' as root`,
      { cause: error },
    );
  }
  return docker;
}

const STAND_INS = { busybox: 'busybox:latest', node: 'node:22-bookworm-slim', 'docker-cli': 'docker:cli' } as const;

/** Makes sure a stand-in base image exists, building it with `scripts/stand-in-images.sh` when missing. */
export async function ensureStandInImage(docker: Docker, name: keyof typeof STAND_INS): Promise<string> {
  const tag = STAND_INS[name];
  try {
    await docker.getImage(tag).inspect();
  } catch {
    await execa('bash', [join(repoRoot, 'scripts', 'stand-in-images.sh'), name], { stdio: 'inherit' });
  }
  return tag;
}

/**
 * The PEM text of the certificate authorities installed locally (`/usr/local/share/ca-certificates`), for image
 * builds that fetch over HTTPS on machines whose HTTPS traffic goes through such a CA. Empty when there are none.
 */
export function localCaCertificates(): string {
  const dir = '/usr/local/share/ca-certificates';
  if (!existsSync(dir)) return '';
  return readdirSync(dir)
    .filter((name) => name.endsWith('.crt'))
    .map((name) => readFileSync(join(dir, name), 'utf8'))
    .join('\n');
}

/** One of the platform's images, built from this checkout as install.sh builds it. */
export interface ProjectImage {
  /** `registry` or `deployer`: the `<name>.Dockerfile` at the repository's root. */
  dockerfile: 'registry' | 'deployer';
  tag: string;
  /** A stage of that Dockerfile (`forwarder`); the last stage when absent. */
  target?: string;
  /** A `key=value` label the image carries (`swarmlet.test=true`, so a cleanup finds it). */
  label?: string;
}

/**
 * Builds `image` on this machine's engine with the classic builder, handing the build stages the locally installed
 * certificate authorities (see {@link localCaCertificates}); resolves with its tag.
 */
export async function buildProjectImage(image: ProjectImage): Promise<string> {
  await execa(
    'docker',
    [
      'build',
      '--quiet',
      ...(image.label ? ['--label', image.label] : []),
      '--build-arg',
      `EXTRA_CA_CERTS=${localCaCertificates()}`,
      ...(image.target ? ['--target', image.target] : []),
      '-f',
      join(repoRoot, `${image.dockerfile}.Dockerfile`),
      '-t',
      image.tag,
      repoRoot,
    ],
    { env: { DOCKER_BUILDKIT: '0' } },
  );
  return image.tag;
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/**
 * What a stack's service answers to `GET /index.html` on `port`, asked from a busybox container on `network` at
 * `tasks.STACK_SERVICE`, as a router on that network would reach it; '' when nothing answers.
 */
export async function askOverNetwork(network: string, service: string, port: number): Promise<string> {
  const request = `printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc tasks.${service} ${String(port)}`;
  const result = await execa(
    'docker',
    ['run', '--rm', '--network', network, '--label', 'swarmlet.test=true', 'busybox', 'sh', '-c', request],
    { reject: false },
  );
  return result.stdout;
}

/**
 * Calls `probe` every `intervalMs` until it returns a value other than undefined, and resolves with it. Rejects
 * after `timeoutMs` with `what` and the probe's last error, so a failing wait says what it waited for.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  { timeoutMs = 60_000, intervalMs = 250 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Removes stack `stack` and waits (up to a minute) until its containers are gone, then removes the images
 * carrying `imageLabel` (`key=value`), if given. Never throws: it is cleanup.
 */
export async function removeStack(docker: Docker | undefined, stack: string, imageLabel?: string): Promise<void> {
  await execa('docker', ['stack', 'rm', stack], { reject: false });
  if (!docker) return;
  await waitFor(
    `the containers of stack ${stack} to go`,
    async () => {
      const left = await docker.listContainers({
        all: true,
        filters: { label: [`com.docker.stack.namespace=${stack}`] },
      });
      return left.length === 0 ? true : undefined;
    },
    { timeoutMs: 60_000 },
  ).catch(() => undefined);
  if (!imageLabel) return;
  for (const image of await docker.listImages({ filters: { label: [imageLabel] } })) {
    await docker
      .getImage(image.Id)
      .remove({ force: true })
      .catch(() => undefined);
  }
}
