import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Writable } from 'node:stream';
import type { Logger } from '@swarmlet/common';
import { splitShellWords, type VerbIo } from '@swarmlet/deployer';
import ssh2 from 'ssh2';
import type { AuthContext, ClientInfo, Connection, Server, ServerChannel, Session } from 'ssh2';
import { gitRefusal } from './access.js';
import type { AuthorizedKeysFile } from './authorized-keys.js';
import { runCommand as runPlatformCommand } from './commands.js';
import { describeRole, type KeyRole } from './key-role.js';
import { verifySignature } from './public-key.js';
import { PushTurns } from './push-turns.js';
import { agentClientFor } from './scoped-agent-client.js';
import { parseRepoName, RepoNameError } from './repo-name.js';
import { ensureBareRepository, findBareRepository, installPreReceiveHook, type HookCommand } from './repositories.js';

/** The git services the receiver runs, as `git <service>` subcommands. */
export type GitService = 'receive-pack' | 'upload-pack' | 'upload-archive';

/** A git command an SSH client asked to run: the service and the repository name exactly as sent. */
export interface GitCommand {
  service: GitService;
  rawName: string;
}

const GIT_COMMAND = /^git[ -](receive-pack|upload-pack|upload-archive) (.+)$/;

/**
 * Reads an SSH `exec` command line as git sends it: `git-receive-pack 'app.git'`, `git-upload-pack 'app'`,
 * `git-upload-archive 'app'`, unquoted, or with `git receive-pack` spelled as two words. Resolves undefined for
 * anything else. The name is returned as sent; `parseRepoName` judges it.
 */
export function parseGitCommand(command: string): GitCommand | undefined {
  const match = GIT_COMMAND.exec(command);
  if (!match?.[1] || match[2] === undefined) return undefined;
  return { service: match[1] as GitService, rawName: match[2] };
}

/** Where the pre-receive hook finds the deployer agent; passed to it through git's environment. */
export interface AgentAccess {
  url: string;
  /** A file holding the agent's bearer token. The hook reads it; the token itself is never put in an environment. */
  tokenFile?: string;
}

/** How {@link startReceiver} runs. */
export interface ReceiverOptions {
  /** The address to listen on; undefined for every interface. */
  host?: string;
  /** The port; 0 picks a free one. */
  port: number;
  /** How long to keep trying while the port is taken by another process; default 0 (fail at once). */
  portWaitMs?: number;
  /** The host private key in OpenSSH format (see `loadOrCreateHostKey`). */
  hostKey: string;
  /** The keys that may log in, reread when the file changes. */
  authorizedKeys: AuthorizedKeysFile;
  /** The directory of bare repositories, `<app>.git` each. */
  reposDir: string;
  /** The pre-receive hook program installed in every repository pushed to. */
  hook: HookCommand;
  /** Given to the hook of a push; without it a push to the deploy branch is refused. */
  agent?: AgentAccess;
  /** The whole environment of the git processes (typically `PATH` and `HOME`); nothing else is inherited. */
  gitEnv: Readonly<Record<string, string>>;
  log: Logger;
}

/** A running receiver. */
export interface Receiver {
  /** The port it listens on. */
  port: number;
  /**
   * Stops listening, ends the connections that run no command, and resolves once the commands still running have
   * finished: their pushers stay connected to the end and learn the outcome (a push whose pusher is gone still
   * completes, deploy included). Clients get a few seconds to hang up themselves before the rest are ended.
   */
  close(): Promise<void>;
}

const LOGIN_GRACE_MS = 60_000;
/** How long a closing receiver lets clients whose commands ended hang up themselves, having read everything. */
const DISCONNECT_GRACE_MS = 5000;
const KEEPALIVE_MS = 15_000;
const MAX_AUTH_FAILURES = 20;
const GIT_PROTOCOL_VALUE = /^[A-Za-z0-9=:._-]{1,100}$/;
const NO_SHELL =
  "no shell here: this server speaks git (git push git@host:app master) and the platform's commands (ssh git@host help)";
/** The longest command line taken; a config value of several KiB fits, with room to spare. */
const MAX_COMMAND_BYTES = 256 * 1024;
/** The most standard input a command reads (`config set APP KEY < file`). */
const MAX_INPUT_BYTES = 1024 * 1024;

/**
 * Starts the git receiver: an SSH server that authenticates users by public key only (the `authorized_keys` file,
 * signatures checked here; a key gets the role its roles file records, admin when none: see `access.ts` for what a
 * deployer may do, checked before any repository is touched or the agent asked), and runs nothing but
 * `git receive-pack`, `git upload-pack` and `git upload-archive` on a validated repository name, and the platform's commands (`help`, `keys`, the day-2 verbs through the agent: see
 * `commands.ts`), never a shell; a command's words are split as a shell would, nothing expanded, and its exit
 * status is the SSH exit status. A command line is never logged whole (it may carry a config value). A push creates the app's bare repository on first use and (re)installs its
 * pre-receive hook; a fetch or archive of an unknown repository is answered "repository not found". Everything
 * else is refused: other commands and shells get one line on stderr and exit status 1, ptys, X11, agent
 * forwarding, subsystems and remote port forwarding are declined, and ssh2 itself refuses every channel type but
 * sessions (local forwarding, Unix sockets). A refused name never touches the disk.
 * Pushes to one app run one at a time: a later one says it waits, then waits for the earlier to end, deploy
 * included, so it sees the refs that one left. The git process's output goes to the pusher while connected and is
 * drained after a disconnect, so a push that lost its pusher still runs to the end: its deploy finishes and its
 * refs move.
 */
export async function startReceiver(options: ReceiverOptions): Promise<Receiver> {
  const busy = new Map<Connection, number>();
  const running = new Set<Promise<void>>();
  const turns = new PushTurns();
  const config = {
    hostKeys: [options.hostKey],
    ident: 'swarmlet',
    keepaliveInterval: KEEPALIVE_MS,
    keepaliveCountMax: 3,
  };
  const server = new ssh2.Server(config, (client, info) => {
    busy.set(client, 0);
    client.on('close', () => busy.delete(client));
    const track = (task: Promise<void>): void => {
      busy.set(client, (busy.get(client) ?? 0) + 1);
      const settled = task
        .catch((error: unknown) => {
          options.log.error({ err: error }, 'a session failed');
        })
        .finally(() => {
          running.delete(settled);
          busy.set(client, (busy.get(client) ?? 1) - 1);
        });
      running.add(settled);
    };
    serveConnection(client, info, options, track, turns);
  });
  await listenWhenFree(server, options);
  server.on('error', (error: Error) => {
    options.log.error({ err: error }, 'the SSH listener failed');
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: async () => {
      const closed = new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
      for (const [client, commands] of busy) if (commands === 0) client.end();
      await Promise.all([...running]);
      const deadline = Date.now() + DISCONNECT_GRACE_MS;
      while (busy.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      for (const client of busy.keys()) client.end();
      await closed;
    },
  };
}

/** How often a taken port is tried again while {@link ReceiverOptions.portWaitMs} lasts. */
const PORT_RETRY_MS = 1000;

async function listenWhenFree(server: Server, options: ReceiverOptions): Promise<void> {
  const deadline = Date.now() + (options.portWaitMs ?? 0);
  let told = false;
  for (;;) {
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, options.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || Date.now() >= deadline) throw error;
      if (!told) {
        options.log.info(
          { port: options.port },
          'the SSH port is taken (a previous receiver draining?); waiting for it',
        );
        told = true;
      }
      await new Promise((resolve) => setTimeout(resolve, PORT_RETRY_MS));
    }
  }
}

interface Identity {
  user: string;
  fingerprint: string;
  comment: string;
  role: KeyRole;
}

/** Who runs a session: the key's role, and how deploy records name it (the key's comment and fingerprint). */
interface Caller {
  role: KeyRole;
  actor: string;
}

function serveConnection(
  client: Connection,
  info: ClientInfo,
  options: ReceiverOptions,
  track: (finished: Promise<void>) => void,
  turns: PushTurns,
): void {
  const log = options.log.child({ peer: `${info.ip}:${info.port}` });
  const lost = new Promise<void>((resolve) => {
    client.once('close', resolve);
    client.once('end', resolve);
    client.on('error', (error: Error & { level?: string }) => {
      if (error.level === 'client-timeout') resolve();
    });
  });
  let identity: Identity | undefined;
  let failures = 0;
  const grace = setTimeout(() => client.end(), LOGIN_GRACE_MS);
  const refuse = (ctx: AuthContext, reason?: string, fingerprint?: string): void => {
    if (reason) log.info({ user: ctx.username, method: ctx.method, fingerprint, reason }, 'authentication refused');
    ctx.reject(['publickey']);
    failures += 1;
    if (failures >= MAX_AUTH_FAILURES) client.end();
  };
  client.on('authentication', (ctx) => {
    if (ctx.method !== 'publickey') {
      refuse(ctx, ctx.method === 'none' ? undefined : 'only public keys are accepted');
      return;
    }
    options.authorizedKeys.find(ctx.key.data).then(
      (key) => {
        if (key?.publicKey.type !== ctx.key.algo) {
          refuse(ctx, 'key not authorized');
          return;
        }
        if (!ctx.signature || !ctx.blob) {
          ctx.accept();
          return;
        }
        const verified = verifySignature(key.publicKey, ctx.blob, ctx.signature, ctx.hashAlgo, {
          requireUserVerification: key.requireUserVerification,
        });
        if (!verified) {
          refuse(ctx, 'bad signature', key.publicKey.fingerprint);
          return;
        }
        identity = {
          user: ctx.username,
          fingerprint: key.publicKey.fingerprint,
          comment: key.comment,
          role: key.role,
        };
        ctx.accept();
      },
      (error: unknown) => {
        log.error({ err: error }, 'cannot read the authorized keys');
        refuse(ctx);
      },
    );
  });
  client.on('ready', () => {
    clearTimeout(grace);
    log.info(
      identity && {
        user: identity.user,
        fingerprint: identity.fingerprint,
        comment: identity.comment,
        role: describeRole(identity.role),
      },
      'authenticated',
    );
  });
  client.on('request', (_accept, reject, name) => {
    log.warn({ request: name }, 'refused a forwarding request');
    answer(reject);
  });
  client.on('session', (accept) => {
    const session = accept();
    if (!identity) {
      client.end();
      return;
    }
    const sessionLog = log.child({ fingerprint: identity.fingerprint });
    const caller: Caller = {
      role: identity.role,
      actor: `${identity.comment} ${identity.fingerprint}`
        .trim()
        .replace(/[^\x20-\x7e]/g, '?')
        .slice(0, 200),
    };
    serveSession(session, lost, options, sessionLog, track, turns, caller);
  });
  client.on('error', (error) => {
    log.debug({ err: error }, 'connection error');
  });
  client.on('close', () => {
    clearTimeout(grace);
  });
}

function serveSession(
  session: Session,
  lost: Promise<void>,
  options: ReceiverOptions,
  log: Logger,
  track: (finished: Promise<void>) => void,
  turns: PushTurns,
  caller: Caller,
): void {
  let gitProtocol: string | undefined;
  const decline = (what: string) => (_accept: unknown, reject: (() => void) | undefined) => {
    log.info({ request: what }, 'declined a session request');
    answer(reject);
  };
  session.on('pty', decline('pty'));
  session.on('x11', decline('x11'));
  session.on('auth-agent', decline('auth-agent'));
  session.on('subsystem', decline('subsystem'));
  session.on('sftp', decline('sftp'));
  session.on('env', (accept, reject, info) => {
    if (info.key === 'GIT_PROTOCOL' && GIT_PROTOCOL_VALUE.test(info.val)) {
      gitProtocol = info.val;
      answer(accept);
    } else {
      answer(reject);
    }
  });
  session.on('shell', (accept) => {
    const channel = opened(accept);
    if (!channel) return;
    log.info('refused a shell');
    track(explain(channel, NO_SHELL));
  });
  session.on('exec', (accept, _reject, info) => {
    const channel = opened(accept);
    if (!channel) return;
    track(runCommand(turns, channel, lost, info.command, gitProtocol, options, log, caller));
  });
}

async function runCommand(
  turns: PushTurns,
  channel: ServerChannel,
  lost: Promise<void>,
  text: string,
  gitProtocol: string | undefined,
  options: ReceiverOptions,
  log: Logger,
  caller: Caller,
): Promise<void> {
  const command = parseGitCommand(text);
  if (!command) {
    await runVerbCommand(channel, lost, text, options, log, caller);
    return;
  }
  let app: string;
  let repo: { app: string; path: string } | undefined;
  try {
    app = parseRepoName(command.rawName);
    const refusal = gitRefusal(caller.role, command.service, app);
    if (refusal !== undefined) {
      log.info({ app, service: command.service, role: describeRole(caller.role) }, 'refused by the key role');
      await explain(channel, `swarmlet: ${refusal}`);
      return;
    }
    if (command.service === 'receive-pack') {
      repo = await ensureBareRepository(options.reposDir, app);
      await installPreReceiveHook(repo.path, options.hook);
    } else {
      repo = await findBareRepository(options.reposDir, app);
    }
  } catch (error) {
    if (error instanceof RepoNameError) {
      log.info({ command: text.slice(0, 200) }, 'refused a repository name');
      await explain(channel, error.message);
      return;
    }
    log.error({ err: error, command: text.slice(0, 200) }, 'cannot prepare the repository');
    await explain(channel, 'internal error: the repository cannot be prepared');
    return;
  }
  if (!repo) {
    log.info({ command: text.slice(0, 200) }, 'repository not found');
    await explain(channel, `repository not found: ${app}`);
    return;
  }
  if (command.service !== 'receive-pack') {
    await runGit(channel, lost, command.service, repo, gitProtocol, options, log, caller.actor);
    return;
  }
  if (turns.busy(repo.app)) {
    channel.stderr.write(`-----> Another push to ${repo.app} is running: this one waits for it to end\n`);
  }
  const pusher = { gone: false };
  void lost.then(() => {
    pusher.gone = true;
  });
  const endTurn = await turns.take(repo.app);
  try {
    if (pusher.gone) return;
    await runGit(channel, lost, command.service, repo, gitProtocol, options, log, caller.actor);
  } finally {
    endTurn();
  }
}

async function runGit(
  channel: ServerChannel,
  lost: Promise<void>,
  service: GitService,
  repo: { app: string; path: string },
  gitProtocol: string | undefined,
  options: ReceiverOptions,
  log: Logger,
  actor: string,
): Promise<void> {
  const env: Record<string, string> = { ...options.gitEnv };
  if (gitProtocol) env.GIT_PROTOCOL = gitProtocol;
  if (service === 'receive-pack' && options.agent) {
    env.SWARMLET_AGENT_URL = options.agent.url;
    if (options.agent.tokenFile) env.SWARMLET_AGENT_TOKEN_FILE = options.agent.tokenFile;
    env.SWARMLET_ACTOR = actor;
  }
  const args = service === 'upload-pack' ? [service, '--strict', repo.path] : [service, repo.path];
  const started = Date.now();
  const child = spawn('git', args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const pusher = { gone: false, finished: false };
  const detach = (): void => {
    if (pusher.gone || pusher.finished) return;
    pusher.gone = true;
    child.stdout.unpipe(channel);
    child.stderr.unpipe(channel.stderr);
    child.stdout.resume();
    child.stderr.resume();
    log.info({ app: repo.app, service }, 'the client went away; letting git finish');
  };
  channel.once('close', detach);
  void lost.then(detach);
  child.stdin.on('error', (error) => {
    log.debug({ err: error }, 'git stopped reading');
  });
  channel.pipe(child.stdin);
  child.stdout.pipe(channel, { end: false });
  child.stderr.pipe(channel.stderr, { end: false });
  const code = await new Promise<number>((resolve) => {
    child.once('error', (error) => {
      log.error({ err: error }, 'cannot run git');
      resolve(1);
    });
    child.once('close', (exitCode) => {
      resolve(exitCode ?? 1);
    });
  });
  channel.off('close', detach);
  pusher.finished = true;
  log.info({ app: repo.app, service, code, ms: Date.now() - started }, 'git finished');
  if (!pusher.gone) await finish(channel, code);
}

/** Runs a platform command (not git) for the SSH client, with its output streamed and its exit status. */
async function runVerbCommand(
  channel: ServerChannel,
  lost: Promise<void>,
  text: string,
  options: ReceiverOptions,
  log: Logger,
  caller: Caller,
): Promise<void> {
  if (Buffer.byteLength(text) > MAX_COMMAND_BYTES) {
    log.info({ bytes: Buffer.byteLength(text) }, 'refused a command that is too long');
    await explain(channel, `swarmlet: the command is longer than ${MAX_COMMAND_BYTES / 1024} KiB`, 2);
    return;
  }
  let words: string[];
  try {
    words = splitShellWords(text);
  } catch (error) {
    await explain(channel, `swarmlet: cannot read the command: ${(error as Error).message}`, 2);
    return;
  }
  const stop = new AbortController();
  channel.once('close', () => {
    stop.abort();
  });
  void lost.then(() => {
    stop.abort();
  });
  const io: VerbIo = {
    write: (output) => {
      if (!stop.signal.aborted) channel.write(output);
    },
    error: (line) => {
      if (!stop.signal.aborted) channel.stderr.write(`swarmlet: ${line}\n`);
    },
    readInput: () => readChannel(channel, MAX_INPUT_BYTES),
    signal: stop.signal,
  };
  const started = Date.now();
  let code: number;
  try {
    const agent = options.agent
      ? agentClientFor(
          {
            url: options.agent.url,
            token: options.agent.tokenFile ? (await readFile(options.agent.tokenFile, 'utf8')).trim() : '',
            actor: caller.actor,
          },
          caller.role,
        )
      : undefined;
    code = await runPlatformCommand(
      words,
      { role: caller.role, agent, authorizedKeysPath: options.authorizedKeys.path },
      io,
    );
  } catch (error) {
    log.error({ err: error, verb: words[0]?.slice(0, 40) }, 'a command failed');
    io.error(`internal error: ${(error as Error).message}`);
    code = 1;
  }
  log.info({ verb: words[0]?.slice(0, 40), code, ms: Date.now() - started }, 'command finished');
  if (!stop.signal.aborted) await finish(channel, code);
}

/** The client's standard input up to its end (EOF), at most `limit` bytes. */
function readChannel(channel: ServerChannel, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    channel.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error(`standard input is larger than ${limit / 1024} KiB`));
        return;
      }
      chunks.push(chunk);
    });
    channel.once('end', () => {
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    channel.once('close', () => {
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

async function explain(channel: ServerChannel, message: string, code = 1): Promise<void> {
  channel.stderr.write(`${message}\n`);
  await finish(channel, code);
}

async function finish(channel: ServerChannel, code: number): Promise<void> {
  const closed = new Promise<void>((resolve) => channel.once('close', resolve));
  const open = await Promise.race([
    Promise.all([flushed(channel), flushed(channel.stderr)]).then(() => true),
    closed.then(() => false),
  ]);
  if (!open) return;
  channel.exit(code);
  channel.end();
}

function flushed(stream: Writable): Promise<void> {
  return new Promise((resolve) =>
    stream.write('', () => {
      resolve();
    }),
  );
}

/** ssh2 passes no accept or reject when the client asked for no reply, whatever its types say. */
function answer(reply: (() => void) | undefined): void {
  reply?.();
}

/** ssh2's accept gives nothing when the session already runs a command (a second exec), whatever its types say. */
function opened(accept: () => ServerChannel | undefined): ServerChannel | undefined {
  return accept();
}
