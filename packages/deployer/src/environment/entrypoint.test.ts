import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { EntrypointError, sourceEntrypoint, type OutputStream } from './entrypoint.js';
import type { EntrypointUser } from './entrypoint-users.js';

const PATH = '/usr/local/bin:/usr/bin:/bin';

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'swarmlet-entrypoint-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

async function run(
  dir: string,
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<{ exported: Record<string, string> | undefined; lines: [OutputStream, string][] }> {
  const lines: [OutputStream, string][] = [];
  const exported = await sourceEntrypoint(dir, env, {
    timeoutMs,
    onLine: (line, stream) => lines.push([stream, line]),
  });
  return { exported, lines };
}

async function failure(promise: Promise<unknown>): Promise<EntrypointError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof EntrypointError) return error;
    throw error;
  }
  throw new Error('expected an EntrypointError');
}

/**
 * Whether the process still runs a moment after its kill: it closes its pipes a little before it ends, and may
 * then linger as a zombie until whoever adopted it reaps it.
 */
async function stillRunning(pid: number): Promise<boolean> {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      if (/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return false;
    } catch {
      return false;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

describe('sourceEntrypoint', () => {
  it('resolves with the environment the script leaves: computed exports in, unset ones out, locals not', async () => {
    const dir = tree({
      entrypoint: [
        'export IMAGE_TAG="${APP_NAME}-$(echo "$GIT_SHA" | cut -c1-7)"',
        'export MULTI_LINE="one',
        'two"',
        'export WITH_EQUALS="a=b=c"',
        'export EMPTY=',
        'NOT_EXPORTED=local',
        'unset DROP_ME',
        'export DECLARED_ONLY',
        'cd /',
        '',
      ].join('\n'),
    });
    const { exported } = await run(dir, { PATH, APP_NAME: 'shop', GIT_SHA: '0123456789abcdef', DROP_ME: 'x' });
    expect(exported).toEqual({
      PATH,
      APP_NAME: 'shop',
      GIT_SHA: '0123456789abcdef',
      IMAGE_TAG: 'shop-0123456',
      MULTI_LINE: 'one\ntwo',
      WITH_EQUALS: 'a=b=c',
      EMPTY: '',
    });
  });

  it("starts from exactly the given environment: none of this process's variables, not even PATH", async () => {
    process.env.SWARMLET_TEST_SECRET = 'do-not-leak';
    try {
      const dir = tree({
        entrypoint: [
          'echo "secret=${SWARMLET_TEST_SECRET:-unset} home=${HOME:-unset} exported PATH=$(printenv PATH || echo unset)"',
          'export SEEN_SECRET="${SWARMLET_TEST_SECRET:-unset}"',
          '',
        ].join('\n'),
      });
      const withoutPath = await run(dir, { APP_NAME: 'shop' });
      expect(withoutPath.exported).toEqual({ APP_NAME: 'shop', SEEN_SECRET: 'unset' });
      expect(withoutPath.lines).toEqual([['stdout', 'secret=unset home=unset exported PATH=unset']]);
      const withPath = await run(dir, { PATH });
      expect(withPath.exported).toEqual({ PATH, SEEN_SECRET: 'unset' });
      expect(withPath.exported).not.toHaveProperty('SWARMLET_TEST_SECRET');
    } finally {
      delete process.env.SWARMLET_TEST_SECRET;
    }
  });

  it('streams stdout and stderr lines as they come, apart from the exports', async () => {
    const dir = tree({
      entrypoint: [
        'echo "to stdout"',
        'echo "to stderr" >&2',
        'printf "FAKE=from output\\0"',
        'echo',
        'printf "no newline at the end"',
        '',
      ].join('\n'),
    });
    const { exported, lines } = await run(dir, { PATH });
    expect(exported).toEqual({ PATH });
    expect(lines.filter(([stream]) => stream === 'stderr')).toEqual([['stderr', 'to stderr']]);
    expect(lines.filter(([stream]) => stream === 'stdout').map(([, line]) => line)).toEqual([
      'to stdout',
      'FAKE=from output\0',
      'no newline at the end',
    ]);
  });

  it('hands a line over before the script ends', async () => {
    const dir = tree({ entrypoint: 'echo ready\nwhile [ ! -e go ]; do sleep 0.05; done\nexport DONE=yes\n' });
    const seen: string[] = [];
    const result = sourceEntrypoint(
      dir,
      { PATH },
      {
        timeoutMs: 20_000,
        onLine: (line) => {
          seen.push(line);
          writeFileSync(join(dir, 'go'), '');
        },
      },
    );
    expect((await result)?.DONE).toBe('yes');
    expect(seen).toEqual(['ready']);
  });

  it('keeps set -e working inside the script', async () => {
    const dir = tree({ entrypoint: 'set -e\nfalse\nexport AFTER=reached\n' });
    expect((await failure(run(dir, { PATH }))).message).toBe('entrypoint failed with exit code 1');
  });

  it('fails on a non-zero exit or status, with the code and the last lines', async () => {
    const failing = tree({
      entrypoint: 'for i in 1 2 3 4 5 6; do echo "line $i"; done\necho "missing secret" >&2\nexit 4\n',
    });
    const error = await failure(run(failing, { PATH }));
    expect(error.message).toBe(
      'entrypoint failed with exit code 4; its last lines: line 3 | line 4 | line 5 | line 6 | missing secret',
    );
    expect(error.lastLines).toEqual(['line 3', 'line 4', 'line 5', 'line 6', 'missing secret']);
    const lastCommand = tree({ entrypoint: 'export A=1\n[ -n "$UNSET" ]\n' });
    expect((await failure(run(lastCommand, { PATH }))).message).toBe('entrypoint failed with exit code 1');
    const returned = tree({ entrypoint: 'return 3\n' });
    expect((await failure(run(returned, { PATH }))).message).toBe('entrypoint failed with exit code 3');
  });

  it('accepts return 0 to leave early, and refuses exit 0, whose exports are unknown', async () => {
    const early = tree({ entrypoint: 'export A=1\nreturn 0\nexport B=2\n' });
    expect((await run(early, { PATH })).exported).toEqual({ PATH, A: '1' });
    const exited = tree({ entrypoint: 'export A=1\nexit 0\n' });
    expect((await failure(run(exited, { PATH }))).message).toBe(
      'entrypoint called exit before its end, so what it exports is unknown: leave it early with return',
    );
  });

  it('names a signal that killed the script', async () => {
    const killed = tree({ entrypoint: 'echo "about to go"\nkill -TERM $$\n' });
    expect((await failure(run(killed, { PATH }))).message).toBe(
      'entrypoint was killed by SIGTERM; its last lines: about to go',
    );
  });

  it('kills the whole process group after the time-out, sleep 100 included', async () => {
    const hanging = tree({ entrypoint: 'echo "waiting forever"\nsleep 100 &\necho $! > sleeper.pid\nwait\n' });
    const error = await failure(run(hanging, { PATH }, 500));
    expect(error.message).toBe(
      'entrypoint did not finish within 500 ms and was stopped; its last lines: waiting forever',
    );
    const sleeper = Number(readFileSync(join(hanging, 'sleeper.pid'), 'utf8'));
    expect(await stillRunning(sleeper)).toBe(false);
    const foreground = tree({ entrypoint: 'sleep 100\n' });
    expect((await failure(run(foreground, { PATH }, 1000))).message).toBe(
      'entrypoint did not finish within 1 s and was stopped',
    );
  });

  it('stops what the script leaves running in the background when it ends', async () => {
    const dir = tree({ entrypoint: 'sleep 100 &\necho $! > sleeper.pid\nexport STARTED=yes\n' });
    expect((await run(dir, { PATH })).exported).toEqual({ PATH, STARTED: 'yes' });
    expect(await stillRunning(Number(readFileSync(join(dir, 'sleeper.pid'), 'utf8')))).toBe(false);
  });

  it('does not trace its report of the exports when the script turns tracing on', async () => {
    const dir = tree({ entrypoint: 'set -x\nexport TOKEN_FROM_SCRIPT=visible-in-its-own-trace\n' });
    const { exported, lines } = await run(dir, { PATH, DB_PASSWORD: 'from-dotenv' });
    expect(exported).toEqual({ PATH, DB_PASSWORD: 'from-dotenv', TOKEN_FROM_SCRIPT: 'visible-in-its-own-trace' });
    const text = lines.map(([, line]) => line).join('\n');
    expect(text).toContain('TOKEN_FROM_SCRIPT=visible-in-its-own-trace');
    expect(lines.at(-1)).toEqual(['stderr', '+ builtin set +aeuvx -- 0']);
    expect(text).not.toMatch(/from-dotenv|printf|compgen/);
  });

  it('is not fooled by aliases or functions the script defines', async () => {
    const dir = tree({
      entrypoint: [
        'shopt -s expand_aliases',
        'alias printf="echo hijacked"',
        'compgen() { echo FAKE; }',
        'mapfile() { :; }',
        'set -a',
        'VIA_ALLEXPORT=yes',
        'set -u',
        '',
      ].join('\n'),
    });
    expect((await run(dir, { PATH })).exported).toEqual({ PATH, VIA_ALLEXPORT: 'yes' });
  });

  it('resolves with undefined when there is no entrypoint, and refuses one that is not a file or leads outside', async () => {
    expect((await run(tree({}), { PATH })).exported).toBeUndefined();
    const directory = tree({});
    mkdirSync(join(directory, 'entrypoint'));
    expect((await failure(run(directory, { PATH }))).message).toBe('entrypoint is not a file');
    const outside = tree({ 'script.sh': 'export A=1\n' });
    const linked = tree({});
    symlinkSync(join(outside, 'script.sh'), join(linked, 'entrypoint'));
    expect((await failure(run(linked, { PATH }))).message).toBe('entrypoint leads outside the repository');
  });

  it('names a bash that cannot run', async () => {
    const dir = tree({ entrypoint: 'export A=1\n' });
    const error = await failure(
      sourceEntrypoint(dir, { PATH }, { timeoutMs: 5000, onLine: () => undefined, bash: '/nonexistent/bash' }),
    );
    expect(error.message).toMatch(/^could not run \/nonexistent\/bash for entrypoint: .*ENOENT/);
  });
});

/** A work tree as the checkout lays it out: `tree` inside a directory closed to other users. */
function closedTree(files: Record<string, string>): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'swarmlet-confined-')), 'tree');
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('sourceEntrypoint, confined to a user of its own', () => {
  const user: EntrypointUser = {
    uid: 2_099_000_000 + (process.pid % 100_000),
    gid: 2_099_000_000 + (process.pid % 100_000),
  };
  const confined = async (dir: string, env: Record<string, string>, timeoutMs = 20_000) => {
    const lines: string[] = [];
    const exported = await sourceEntrypoint(dir, env, {
      timeoutMs,
      onLine: (line) => lines.push(line),
      runAs: () => Promise.resolve(user),
    });
    return { exported, lines };
  };

  it('runs as that uid and gid with no other group, working in its tree through relative paths', async () => {
    const dir = closedTree({
      entrypoint: [
        'export WHO="$(id -u):$(id -g):$(id -G)"',
        'export READ="$(cat sub/input)"',
        'echo generated > sub/output',
        'cd sub && export INSIDE="$(cat input)" && cd ..',
        'export ABSOLUTE="$(cat "$PWD/sub/input" 2>&1 >/dev/null || echo refused)"',
        'export BESIDE="$(ls .. 2>&1 >/dev/null || echo refused)"',
        '',
      ].join('\n'),
    });
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'input'), 'committed');
    const { exported } = await confined(dir, { PATH });
    expect(exported).toMatchObject({
      WHO: `${user.uid}:${user.gid}:${user.gid}`,
      READ: 'committed',
      INSIDE: 'committed',
      ABSOLUTE: expect.stringMatching(/refused$/) as unknown,
      BESIDE: expect.stringMatching(/refused$/) as unknown,
    });
    expect(readFileSync(join(dir, 'sub', 'output'), 'utf8')).toBe('generated\n');
    expect(statSync(join(dir, 'sub', 'output')).uid).toBe(user.uid);
  });

  it("cannot read a file only root may read, nor this process's environment", async () => {
    const secret = join(mkdtempSync(join(tmpdir(), 'swarmlet-secret-')), 'token');
    writeFileSync(secret, 'hunter2', { mode: 0o600 });
    chmodSync(join(secret, '..'), 0o755);
    const dir = closedTree({
      entrypoint: [
        'export TOKEN="$(cat "$SECRET" 2>/dev/null || echo refused)"',
        'export ENVIRON="$(head -c1 /proc/$AGENT/environ 2>/dev/null || echo refused)"',
        '',
      ].join('\n'),
    });
    const { exported } = await confined(dir, { PATH, SECRET: secret, AGENT: String(process.pid) });
    expect(exported).toMatchObject({ TOKEN: 'refused', ENVIRON: 'refused' });
  });

  it('kills a daemon that left the process group, once the script ends and after a time-out', async () => {
    const daemon = 'setsid sleep 100 </dev/null >/dev/null 2>&1 &\necho $! > daemon.pid\n';
    const ended = closedTree({ entrypoint: daemon });
    await confined(ended, { PATH });
    expect(await stillRunning(Number(readFileSync(join(ended, 'daemon.pid'), 'utf8')))).toBe(false);
    const hanging = closedTree({ entrypoint: `${daemon}sleep 100\n` });
    const error = await failure(confined(hanging, { PATH }, 1000));
    expect(error.message).toBe('entrypoint did not finish within 1 s and was stopped');
    expect(await stillRunning(Number(readFileSync(join(hanging, 'daemon.pid'), 'utf8')))).toBe(false);
  });

  it('finds none of the processes a stopped agent left running as the user', async () => {
    const leftover = execa('sleep', ['100'], { uid: user.uid, gid: user.gid, reject: false });
    const dir = closedTree({ entrypoint: 'if kill -0 "$LEFTOVER" 2>/dev/null; then export LEFTOVER_ALIVE=yes; fi\n' });
    const { exported } = await confined(dir, { PATH, LEFTOVER: String(leftover.pid) });
    expect(exported?.LEFTOVER_ALIVE).toBeUndefined();
    expect((await leftover).signal).toBe('SIGKILL');
  });

  it('refuses a tree whose directory is open to others, and says so when it cannot confine', async () => {
    const open = closedTree({ entrypoint: 'export A=1\n' });
    chmodSync(join(open, '..'), 0o755);
    await expect(confined(open, { PATH })).rejects.toThrow(/is open to other users/);
    const lines: string[] = [];
    const exported = await sourceEntrypoint(
      closedTree({ entrypoint: 'export A=1\n' }),
      { PATH },
      { timeoutMs: 20_000, onLine: (line) => lines.push(line), runAs: () => Promise.resolve(undefined) },
    );
    expect(exported).toEqual({ PATH, A: '1' });
    expect(lines).toEqual([expect.stringMatching(/^warning: the entrypoint runs unconfined/)]);
  });
});
