import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { execa } from 'execa';
import { OutsideTreeError, resolveInTree } from '../tree-path.js';
import { handTreeTo, killEveryProcessOf } from './confine.js';
import type { EntrypointUser } from './entrypoint-users.js';

/** The entrypoint could not be used or failed: its message says why and ends with the last lines it printed. */
export class EntrypointError extends Error {
  constructor(
    message: string,
    readonly lastLines: readonly string[] = [],
  ) {
    super(lastLines.length ? `${message}; its last lines: ${lastLines.join(' | ')}` : message);
    this.name = 'EntrypointError';
  }
}

/** Where a line of the entrypoint's output came from. */
export type OutputStream = 'stdout' | 'stderr';

/** How to run an entrypoint. */
export interface EntrypointOptions {
  /** After this long the entrypoint and everything it started are killed and the deploy fails. */
  timeoutMs: number;
  /** Receives each line the script prints, as it comes. */
  onLine: (line: string, stream: OutputStream) => void;
  /** The bash to run, as an absolute path since the environment may lack `PATH`. */
  bash?: string;
  /**
   * Asked once when there is a script: the unprivileged user to run it as (see {@link sourceEntrypoint}), or
   * `undefined` when this process cannot switch users, in which case the script runs as this process's user and
   * one line on `onLine` says it is not confined. Without it the script runs as this process's user, silently.
   */
  runAs?: () => Promise<EntrypointUser | undefined>;
}

const ENTRYPOINT_FILE = 'entrypoint';

/** Bash's bookkeeping variables, which it sets by itself: never taken from the shell, only from `env`. */
const SHELL_OWN = new Set(['PWD', 'OLDPWD', 'SHLVL', '_']);
const END_OF_EXPORTS = 'swarmlet:end-of-exports';
const LAST_LINES = 5;
const UNCONFINED =
  "warning: the entrypoint runs unconfined, as the platform's own user, since the platform does not run as root: it can read whatever the platform can";
const MAX_LINE = 16 * 1024;

/**
 * Sources the script, then writes every exported variable as `NAME=value\0` and an end marker to descriptor 3.
 * One brace group, so it is parsed before the script can define aliases; builtins are called as such, so a
 * function of the script cannot stand in for them. The script runs without descriptor 3; `set -- "$?"` keeps
 * its status without a variable that `set -a` would export, and the options and traps it may have set (`-x`
 * above all, which would print every value) are turned off before the report.
 */
const SOURCE_AND_REPORT = `{
builtin source ./${ENTRYPOINT_FILE} 3>&-
builtin set +aeuvx -- "$?"
builtin trap - DEBUG ERR RETURN
[[ $1 == 0 ]] || builtin exit "$1"
builtin mapfile -t __swarmlet_names < <(builtin compgen -e)
for __swarmlet_name in "\${__swarmlet_names[@]}"; do
  builtin printf '%s=%s\\0' "$__swarmlet_name" "\${!__swarmlet_name}"
done >&3
builtin printf '%s\\0' '${END_OF_EXPORTS}' >&3
}`;

/**
 * Sources the project's `entrypoint` (a bash script at the root of the work tree `tree`) in a child bash whose
 * environment is exactly `env`: nothing of this process's environment, not even `PATH` unless `env` has it. Its
 * working directory is the tree and its stdin is empty. The script's stdout and stderr reach `options.onLine`
 * line by line as they come (a line longer than 16 KiB is cut in pieces). Resolves with the environment as the
 * script leaves it: every variable exported when it is done, so what it unsets is gone (bash's own `PWD`,
 * `OLDPWD`, `SHLVL` and `_` are kept as `env` has them, or left out). The variables travel on a descriptor of
 * their own, so the script's output cannot be taken for them. Whatever the script leaves running is killed when
 * it ends. Resolves with `undefined` when there is no entrypoint.
 * @throws EntrypointError (with the last lines printed) when the script fails: it is a link leading outside the
 * tree or not a file; bash cannot start; sourcing it ends with a non-zero status (the exit code is named) or a
 * signal; it calls `exit` (its exports are then unknown); or `timeoutMs` passes, when its whole process group is
 * killed; or, confined, what it left running cannot be stopped.
 *
 * Confined (`options.runAs` gives a user): the tree is handed to the user first (see `handTreeTo`: its parent must
 * be closed, so the script reaches the tree only through its working directory and relative paths), bash starts as
 * that uid and gid with no supplementary group, and every process of the user is killed before it starts (one left
 * by an agent that stopped mid-deploy) and when it ends or times out, daemons that left the process group included. What it cannot reach is then a matter of file modes: the
 * platform keeps its data directory, secrets and the Docker socket closed to other users.
 */
export async function sourceEntrypoint(
  tree: string,
  env: Readonly<Record<string, string>>,
  options: EntrypointOptions,
): Promise<Record<string, string> | undefined> {
  const script = await locate(tree);
  if (script === undefined) return undefined;
  const bash = options.bash ?? '/bin/bash';
  const user = options.runAs ? await options.runAs() : undefined;
  if (options.runAs && user === undefined) options.onLine(UNCONFINED, 'stderr');
  if (user !== undefined) {
    await killEveryProcessOf(user, bash);
    await handTreeTo(tree, user);
  }
  const tail: string[] = [];
  const emit = (stream: OutputStream) => (line: string) => {
    tail.push(line);
    if (tail.length > LAST_LINES) tail.shift();
    options.onLine(line, stream);
  };
  const child = execa(bash, ['--noprofile', '--norc', '-c', SOURCE_AND_REPORT], {
    cwd: tree,
    env,
    extendEnv: false,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    buffer: false,
    detached: true,
    reject: false,
    ...(user && { uid: user.uid, gid: user.gid }),
  });
  const [, stdout, stderr, exports] = child.stdio;
  const output = [splitLines(stdout, emit('stdout')), splitLines(stderr, emit('stderr'))];
  const reported = collect(exports);
  const killGroup = (): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  };
  let reaping: Promise<void> | undefined;
  const reap = (): Promise<void> => {
    if (reaping === undefined) {
      reaping = user === undefined ? Promise.resolve() : killEveryProcessOf(user, bash);
      reaping.catch(() => undefined);
    }
    return reaping;
  };
  const stop = (): void => {
    killGroup();
    void reap();
  };
  const deadline = { passed: false };
  const timer = setTimeout(() => {
    deadline.passed = true;
    stop();
  }, options.timeoutMs);
  child.once('exit', stop);
  const result = await child;
  clearTimeout(timer);
  try {
    if (child.pid !== undefined) await reap();
  } catch (error) {
    throw new EntrypointError(`${script}: ${(error as Error).message}`, [...tail]);
  }
  await Promise.allSettled(output);
  const exported = await reported;
  const lastLines = [...tail];
  if (deadline.passed) {
    throw new EntrypointError(
      `${script} did not finish within ${duration(options.timeoutMs)} and was stopped`,
      lastLines,
    );
  }
  if (result.exitCode === undefined && result.signal === undefined) {
    throw new EntrypointError(`could not run ${bash} for ${script}: ${result.shortMessage}`, lastLines);
  }
  if (result.signal !== undefined) throw new EntrypointError(`${script} was killed by ${result.signal}`, lastLines);
  if (result.exitCode !== 0) {
    throw new EntrypointError(`${script} failed with exit code ${String(result.exitCode)}`, lastLines);
  }
  const entries = exported.split('\0');
  const end = entries.indexOf(END_OF_EXPORTS);
  if (end < 0) {
    throw new EntrypointError(
      `${script} called exit before its end, so what it exports is unknown: leave it early with return`,
      lastLines,
    );
  }
  const variables: Record<string, string> = {};
  for (const entry of entries.slice(0, end)) {
    const equals = entry.indexOf('=');
    const name = entry.slice(0, equals);
    if (equals > 0 && !SHELL_OWN.has(name)) variables[name] = entry.slice(equals + 1);
  }
  for (const name of SHELL_OWN) {
    const given = env[name];
    if (given !== undefined) variables[name] = given;
  }
  return variables;
}

async function locate(tree: string): Promise<string | undefined> {
  let path: string | undefined;
  try {
    path = await resolveInTree(tree, ENTRYPOINT_FILE);
  } catch (error) {
    if (error instanceof OutsideTreeError) throw new EntrypointError(`${ENTRYPOINT_FILE} leads outside the repository`);
    throw error;
  }
  if (path === undefined) return undefined;
  if (!(await stat(path)).isFile()) throw new EntrypointError(`${ENTRYPOINT_FILE} is not a file`);
  return ENTRYPOINT_FILE;
}

async function splitLines(stream: Readable, onLine: (line: string) => void): Promise<void> {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    let newline = pending.indexOf('\n');
    while (newline >= 0 || pending.length > MAX_LINE) {
      const end = newline >= 0 && newline <= MAX_LINE ? newline : MAX_LINE;
      onLine(pending.slice(0, end).replace(/\r$/, ''));
      pending = pending.slice(newline === end ? end + 1 : end);
      newline = pending.indexOf('\n');
    }
  });
  await settled(stream);
  if (pending !== '') onLine(pending.replace(/\r$/, ''));
}

async function collect(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  await settled(stream);
  return Buffer.concat(chunks).toString('utf8');
}

/** Waits until the stream has ended or failed: a killed script may close its pipes abruptly. */
async function settled(stream: Readable): Promise<void> {
  try {
    await finished(stream);
  } catch {
    return;
  }
}

function duration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
