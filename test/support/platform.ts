import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { freePort, repoRoot, waitFor } from './docker.js';
import { gitIn } from './git.js';

/** What a command run by a test may be given. */
export interface CommandOptions {
  /** Standard input; none (end of file at once) by default. */
  input?: string;
  /** Whether to drop the output's last newline, as execa does by default. */
  stripFinalNewline?: boolean;
}

/** Runs `file` with `args` and `env` added to this environment; never rejects, output also in `all`. */
function run(file: string, args: string[], options: CommandOptions, env: Record<string, string> = {}) {
  return execa(file, args, {
    input: options.input ?? '',
    stripFinalNewline: options.stripFinalNewline ?? true,
    env,
    reject: false,
    all: true,
  });
}

/**
 * The router's network of every test platform: not the production `traefik-public`, which install.test.ts's
 * uninstall removes while other test files' apps may be about to join it.
 */
export const TEST_ROUTER_NETWORK = 'swarmlet-test-router';

/** The platform as `npm start` runs it (`swarmlet up`), started by a test, with a key that may push. */
export interface LocalPlatform {
  /** The environment `swarmlet up` runs with; the CLI run with it reaches the same platform. */
  env: Record<string, string>;
  sshPort: number;
  agentPort: number;
  registryPort: number;
  /** The private key authorized on the platform. */
  key: string;
  /** The `swarmlet up` process. */
  process: ResultPromise;
  /** `ssh -p PORT git@127.0.0.1 ARGS…` with the key, as a user types it; never rejects. */
  ssh(args: string[], options?: CommandOptions): ReturnType<typeof run>;
  /** git in `cwd` with the key as its SSH identity; never rejects. */
  git(cwd: string, ...args: string[]): ReturnType<typeof gitIn>;
  /** `node packages/cli/dist/main.js ARGS…` with the platform's environment; never rejects. */
  cli(args: string[], options?: CommandOptions): ReturnType<typeof run>;
  /** The git remote URL of an app. */
  remote(app: string): string;
  /** Creates an empty repository at `dir` on `master` whose remote `swarmlet` is the app's. */
  initRepository(dir: string, app: string): Promise<void>;
  /** {@link ssh} and {@link git} with another private key as the identity (one the test authorized itself). */
  as(key: string): Pick<LocalPlatform, 'ssh' | 'git'>;
  /** Stops `swarmlet up` (SIGINT) and waits for it. */
  stop(): Promise<void>;
  /**
   * Kills `swarmlet up` and every process under it (registry, agent, receiver and what they run) with SIGKILL, as
   * a crash would, and waits until `swarmlet up` is gone. `startLocalPlatform(work, this)` starts it again.
   */
  kill(): Promise<void>;
}

/**
 * Starts `swarmlet up` on free ports with its data under `work/data`, without a local router (tests run several
 * platforms at once; a router would hold one HTTP port), and a new ed25519 key (`work/id_ed25519`, comment
 * `pusher`) as its only authorized key; resolves once the agent answers and the receiver takes SSH. Given
 * `again` (a platform started on `work` before, stopped or killed), it starts on the same ports, data and key.
 */
export async function startLocalPlatform(work: string, again?: LocalPlatform): Promise<LocalPlatform> {
  const [registryPort, agentPort, sshPort] = again
    ? [again.registryPort, again.agentPort, again.sshPort]
    : [await freePort(), await freePort(), await freePort()];
  const key = join(work, 'id_ed25519');
  if (!again) {
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'pusher', '-f', key]);
    await execa('cp', [`${key}.pub`, join(work, 'authorized_keys')]);
  }
  const env = {
    SWARMLET_DATA_DIR: join(work, 'data'),
    SWARMLET_REGISTRY_PORT: String(registryPort),
    SWARMLET_AGENT_PORT: String(agentPort),
    SWARMLET_SSH_PORT: String(sshPort),
    SWARMLET_AUTHORIZED_KEYS: join(work, 'authorized_keys'),
    SWARMLET_ROUTER: 'none',
    TRAEFIK_NETWORK: TEST_ROUTER_NETWORK,
  };
  const platform = execa('node', [join(repoRoot, 'packages/cli/dist/main.js'), 'up'], {
    env,
    reject: false,
    all: true,
  });
  await waitFor('the agent to answer', async () =>
    (await fetch(`http://127.0.0.1:${agentPort}/health`).catch(() => undefined))?.ok ? true : undefined,
  );
  await waitFor('the receiver to accept SSH', async () =>
    (await execa('ssh-keyscan', ['-p', String(sshPort), '127.0.0.1'], { reject: false })).stdout ? true : undefined,
  );
  const remote = (app: string) => `ssh://git@127.0.0.1:${sshPort}/${app}`;
  const sshOptionsFor = (identity: string) => [
    '-i',
    identity,
    '-p',
    String(sshPort),
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=ERROR',
  ];
  const sshOptions = sshOptionsFor(key);
  return {
    env,
    sshPort,
    agentPort,
    registryPort,
    key,
    process: platform,
    ssh: (args, options = {}) => run('ssh', [...sshOptions, 'git@127.0.0.1', ...args], options),
    git: (cwd, ...args) => gitIn(cwd, args, { GIT_SSH_COMMAND: `ssh ${sshOptions.join(' ')}` }),
    cli: (args, options = {}) => run('node', [join(repoRoot, 'packages/cli/dist/main.js'), ...args], options, env),
    remote,
    initRepository: async (dir, app) => {
      await execa('git', ['init', '--quiet', '-b', 'master', dir]);
      await gitIn(dir, ['remote', 'add', 'swarmlet', remote(app)]);
    },
    as: (identity) => ({
      ssh: (args, options = {}) => run('ssh', [...sshOptionsFor(identity), 'git@127.0.0.1', ...args], options),
      git: (cwd, ...args) => gitIn(cwd, args, { GIT_SSH_COMMAND: `ssh ${sshOptionsFor(identity).join(' ')}` }),
    }),
    stop: async () => {
      platform.kill('SIGINT');
      await platform;
    },
    kill: async () => {
      const pids = await descendants(platform.pid ?? 0);
      platform.kill('SIGKILL');
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await platform;
    },
  };
}

/** The processes under `pid`, children first, then theirs. */
async function descendants(pid: number): Promise<number[]> {
  const found: number[] = [];
  for (let level = [pid]; level.length > 0;) {
    const children = await Promise.all(
      level.map(async (parent) =>
        (await execa('pgrep', ['-P', String(parent)], { reject: false })).stdout
          .split('\n')
          .filter(Boolean)
          .map(Number),
      ),
    );
    level = children.flat();
    found.push(...level);
  }
  return found;
}
