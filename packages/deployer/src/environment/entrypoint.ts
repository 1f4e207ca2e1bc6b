import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

/** The entrypoint failed: a non-zero exit or a time-out. The message carries the last lines it printed. */
export class EntrypointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EntrypointError';
  }
}

/** Variables bash sets for itself, which are not the script's exports. */
const SHELL_OWN = new Set(['PWD', 'OLDPWD', 'SHLVL', '_']);

/**
 * Sources the project's `entrypoint` (a bash script at the tree's root; none is fine) in a child bash that starts
 * with exactly `env` (nothing of this process's environment), in the tree, and resolves with the variables
 * exported afterwards (bash's own bookkeeping variables left out). The script's stdout and stderr reach `onLine`
 * line by line as they come; the exports travel on a separate descriptor, so the script's output cannot forge
 * them. Resolves with `env` unchanged when there is no entrypoint.
 * @throws EntrypointError on a non-zero exit or when `timeoutMs` passes (the script and everything it started,
 * its whole process group, are killed), with its last lines.
 */
export async function sourceEntrypoint(
  tree: string,
  env: Readonly<Record<string, string>>,
  timeoutMs: number,
  onLine: (line: string) => void,
): Promise<Record<string, string>> {
  const script = join(tree, 'entrypoint');
  try {
    await access(script);
  } catch {
    return { ...env };
  }
  const child = execa('bash', ['-c', 'source ./entrypoint && env -0 >&3'], {
    cwd: tree,
    env,
    extendEnv: false,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    detached: true,
    reject: false,
    encoding: 'utf8',
  });
  const tail: string[] = [];
  const forward = (stream: NodeJS.ReadableStream): void => {
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) emit(line);
    });
    stream.on('end', () => {
      if (pending !== '') emit(pending);
    });
  };
  const emit = (line: string): void => {
    tail.push(line);
    if (tail.length > 10) tail.shift();
    onLine(line);
  };
  forward(child.stdout);
  forward(child.stderr);
  const exportsStream = child.stdio[3];
  const chunks: Buffer[] = [];
  exportsStream.on('data', (chunk: Buffer) => chunks.push(Buffer.from(chunk)));
  const deadline = { passed: false };
  const timer = setTimeout(() => {
    deadline.passed = true;
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  }, timeoutMs);
  const result = await child.finally(() => {
    clearTimeout(timer);
  });
  const lastLines = tail.length ? `; it printed last: ${tail.slice(-5).join(' | ')}` : '';
  if (deadline.passed)
    throw new EntrypointError(
      `entrypoint timed out after ${Math.round(timeoutMs / 1000)} s and was stopped${lastLines}`,
    );
  if (result.exitCode !== 0) {
    throw new EntrypointError(
      `entrypoint failed with exit code ${result.exitCode ?? result.signal ?? 'unknown'}${lastLines}`,
    );
  }
  const exported: Record<string, string> = {};
  for (const entry of Buffer.concat(chunks).toString('utf8').split('\0')) {
    const equals = entry.indexOf('=');
    if (equals <= 0) continue;
    const name = entry.slice(0, equals);
    if (!SHELL_OWN.has(name)) exported[name] = entry.slice(equals + 1);
  }
  return exported;
}
