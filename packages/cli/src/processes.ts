import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { untilSignal, type Logger } from '@swarmlet/common';

/** A platform process run as a child of this one. */
export interface Part {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

/** The repository's `stacks/` folder, beside `packages/` (in the source tree and in the deployer image alike). */
export const BUNDLED_STACKS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'stacks');

/**
 * Starts `node <main> ...args` as a child with this process's environment plus `env`, its output passed through.
 */
export function startPart(name: string, main: string, args: string[], env: Record<string, string>): Part {
  const child = spawn(process.execPath, [main, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', resolve);
  });
  return { name, child, exited };
}

/**
 * Waits until SIGINT or SIGTERM reaches this process or one of `parts` exits on its own, then sends SIGTERM to
 * every part and waits for all of them to exit (each finishes its running work first: pushes, deploys). Resolves
 * with 0 when a signal stopped parts that all exited with 0, and with 1 otherwise.
 */
export async function superviseParts(parts: Part[], log: Logger): Promise<number> {
  const first = await Promise.race([
    untilSignal().then(() => undefined),
    ...parts.map((part) => part.exited.then(() => part)),
  ]);
  if (first) log.error({ part: first.name }, 'a platform process exited; stopping the others');
  else log.info('stopping; running pushes and deploys finish first');
  for (const part of parts) part.child.kill('SIGTERM');
  const codes = await Promise.all(parts.map((part) => part.exited));
  log.info('stopped');
  return first || codes.some((code) => code !== 0) ? 1 : 0;
}

/** This package's own compiled `main.js` (the `swarmlet` command), which runs the agent as `swarmlet agent`. */
export const CLI_MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

/** The compiled `main.js` of one of the platform's packages. */
export function packageMain(packageName: string): string {
  return join(dirname(fileURLToPath(import.meta.resolve(packageName))), 'main.js');
}

/** Makes sure the file at `path` holds a token (64 hex digits, made now when the file is missing or empty). */
export async function ensureToken(path: string): Promise<string> {
  const existing = await readFile(path, 'utf8').catch(() => '');
  if (existing.trim() === '') await writeFile(path, randomBytes(32).toString('hex'), { mode: 0o600 });
  return path;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
