import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { execa } from 'execa';
import { ensureStandInImage, removeStack, repoRoot, requireEngine, waitFor } from '../support/docker.js';
import { commitFiles } from '../support/git.js';
import { startLocalPlatform, type LocalPlatform } from '../support/platform.js';

const HOSTILE_ENTRYPOINT = readFileSync(join(repoRoot, 'test/e2e/fixtures/hostile/entrypoint'), 'utf8');

/** The PATH a deploy gets by default, which the soundness run uses too. */
const DEPLOY_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * An honest entrypoint: it reads its checkout and the deploy environment, writes the compose file the deploy then
 * uses, works in a subdirectory, resolves a name, talks HTTP to the registry over TCP, and exports what it found.
 */
const HONEST_ENTRYPOINT = `export GREETING="$(tr a-z A-Z < greeting.txt) from $APP_NAME"
sed "s/@SERVICE@/web/" compose.template > docker-compose.yml
mkdir -p generated && cd generated && echo "$GIT_SHA" > commit.txt && cd ..
export FROM_SUBDIR="$(cut -c1-7 generated/commit.txt)"
export RESOLVED="$(getent hosts localhost | awk '{ print $1; exit }')"
exec 7<>"/dev/tcp/\${SWARMLET_REGISTRY%:*}/\${SWARMLET_REGISTRY##*:}"
printf 'GET /v2/ HTTP/1.0\\r\\n\\r\\n' >&7
read -r status <&7
exec 7<&-
export REGISTRY_ANSWER="\${status%$'\\r'}"
`;

const HONEST_COMPOSE = `services:
  @SERVICE@:
    build: .
    command: ["sleep", "3600"]
    environment:
      GREETING: \${GREETING}
      FROM_SUBDIR: \${FROM_SUBDIR}
      RESOLVED: \${RESOLVED}
      REGISTRY_ANSWER: \${REGISTRY_ANSWER}
`;

/** The probes the hostile entrypoint makes under `swarmlet up` (no registry password there: its registry is open). */
const PROBES = [
  'docker-socket',
  'agent-token',
  'docker-config',
  'keys-file',
  'ssh-host-keys',
  'repositories',
  'data-dir',
  'app-history',
  'app-settings',
  'other-checkout',
  'platform-environ',
  'agent-environ',
  'agent-open-files',
  'write-beside-checkout',
  'write-data-dir',
  'write-other-checkout',
];

/** Each `probe NAME: STATUS (…)` line of an output, as NAME → STATUS. */
function probeResults(output: string): Record<string, string> {
  const results: Record<string, string> = {};
  for (const [, name = '', status = ''] of output.matchAll(/probe ([\w-]+): (\w+) \(/g)) results[name] = status;
  return results;
}

/** The pids whose command line contains `text`. */
function processesNamed(text: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) found.push(Number(entry));
    } catch {
      continue;
    }
  }
  return found;
}

/** The pids whose command line contains `text`, waiting up to 10 s for at least one to appear; [] if none does. */
function processesNamedSoon(text: string): Promise<number[]> {
  return waitFor(
    `a process named ${text}`,
    () => {
      const found = processesNamed(text);
      return Promise.resolve(found.length > 0 ? found : undefined);
    },
    { timeoutMs: 10_000, intervalMs: 100 },
  ).catch(() => []);
}

/** The child of `parent` whose command line contains `text`. */
function childNamed(parent: number, text: string): number {
  for (const pid of processesNamed(text)) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent) return pid;
  }
  throw new Error(`no child of ${parent} runs ${text}`);
}

/**
 * A pushed project's entrypoint runs confined, against `swarmlet up` over real SSH and git: a hostile entrypoint
 * reaches none of the platform's secrets, socket, data or other apps, and leaves nothing running, while the same
 * probes run as root reach all of it; an honest entrypoint still does its work and the app deploys.
 */
describe('a confined entrypoint', () => {
  const work = mkdtempSync(join(tmpdir(), 'swarmlet-confined-'));
  const data = join(work, 'data');
  const honest = `honest-${process.pid}`;
  const hostile = `hostile-${process.pid}`;
  let docker: Docker;
  let platform: LocalPlatform;
  let honestCommit = '';
  let honestPush = '';

  /** The probe targets of this platform, as the hostile repository's `probe-targets` gives them. */
  const targets = (mark: string) =>
    [
      `PROBE_MARK=${mark}`,
      'PROBE_DOCKER_SOCKET=/var/run/docker.sock',
      `PROBE_AGENT_TOKEN=${join(data, 'agent-token')}`,
      'PROBE_REGISTRY_PASSWORD=',
      `PROBE_DOCKER_CONFIG=${join(data, 'deployer', 'docker-config', 'config.json')}`,
      `PROBE_KEYS_FILE=${join(work, 'authorized_keys')}`,
      `PROBE_SSH_HOST_KEYS=${join(data, 'receiver', 'ssh')}`,
      `PROBE_REPOSITORIES=${join(data, 'receiver', 'repos')}`,
      `PROBE_DATA_DIR=${join(data, 'deployer')}`,
      `PROBE_HISTORY_DIR=${join(data, 'deployer', 'deploys', honest)}`,
      `PROBE_SETTINGS_DIR=${join(data, 'deployer', 'apps')}`,
      `PROBE_OTHER_CHECKOUT=${join(data, 'deployer', 'work', honest, 'tree')}`,
      `PROBE_PLATFORM_PID=${String(platform.process.pid)}`,
      `PROBE_AGENT_PID=${String(childNamed(platform.process.pid ?? 0, 'packages/cli/dist/main.js\0agent'))}`,
      '',
    ].join('\n');

  beforeAll(async () => {
    docker = await requireEngine();
    await ensureStandInImage(docker, 'busybox');
    chmodSync(work, 0o711);
    mkdirSync(join(data, 'deployer'), { recursive: true, mode: 0o755 });
    chmodSync(data, 0o755);
    platform = await startLocalPlatform(work);
    chmodSync(join(work, 'authorized_keys'), 0o600);
    const repo = join(work, 'honest');
    await platform.initRepository(repo, honest);
    honestCommit = await commitFiles(
      repo,
      {
        entrypoint: HONEST_ENTRYPOINT,
        'compose.template': HONEST_COMPOSE,
        'greeting.txt': 'hello',
        Dockerfile: 'FROM busybox\n',
      },
      'honest',
    );
    const pushed = await platform.git(repo, 'push', 'swarmlet', 'master');
    honestPush = pushed.all;
    if (pushed.exitCode !== 0) throw new Error(`the honest push failed: ${pushed.all}`);
    const saved = await platform.cli(['config', 'set', honest, 'SETTING=kept-on-the-server', '--no-deploy']);
    if (saved.exitCode !== 0) throw new Error(`config set failed: ${saved.all}`);
  }, 300_000);

  afterAll(async () => {
    await platform.stop();
    await removeStack(docker, honest, `swarmlet.app=${honest}`);
    for (const pid of processesNamed(`hostile-daemon-${process.pid}`)) process.kill(pid, 'SIGKILL');
    rmSync(work, { recursive: true, force: true });
  }, 180_000);

  it('still does honest work: reads and writes its checkout, reads the environment, reaches the network', async () => {
    expect(honestPush).not.toContain('unconfined');
    const service = (await docker.getService(`${honest}_web`).inspect()) as {
      Spec: { TaskTemplate: { ContainerSpec: { Env?: string[] } } };
    };
    const env = service.Spec.TaskTemplate.ContainerSpec.Env ?? [];
    expect(env).toEqual(
      expect.arrayContaining([
        `GREETING=HELLO from ${honest}`,
        `FROM_SUBDIR=${honestCommit.slice(0, 7)}`,
        'REGISTRY_ANSWER=HTTP/1.1 200 OK',
      ]),
    );
    expect(env.find((entry) => entry.startsWith('RESOLVED='))).toMatch(/^RESOLVED=(127\.0\.0\.1|::1)$/);
  });

  it('reaches none of the platform, leaves nothing behind, though the same probes as root reach everything', async () => {
    const repo = join(work, 'hostile');
    await platform.initRepository(repo, hostile);
    await commitFiles(
      repo,
      { entrypoint: HOSTILE_ENTRYPOINT, 'probe-targets': targets(`${process.pid}-deploy`) },
      'hostile',
    );
    const pushed = await platform.git(repo, 'push', 'swarmlet', 'master');
    const confined = probeResults(pushed.all);
    expect(Object.fromEntries(PROBES.map((name) => [name, confined[name]]))).toEqual(
      Object.fromEntries(PROBES.map((name) => [name, 'blocked'])),
    );
    expect(confined.daemon).toBe('started');
    expect(pushed.all).not.toContain('REACHED');
    expect(pushed.all).toContain('-----> compose');
    expect(processesNamed(`hostile-daemon-${process.pid}-deploy`)).toEqual([]);
    for (const dir of [join(data, 'deployer'), join(data, 'deployer', 'work', hostile)]) {
      expect(existsSync(join(dir, `hostile-was-here-${process.pid}-deploy`))).toBe(false);
    }

    const tree = join(work, 'as-root', 'tree');
    mkdirSync(tree, { recursive: true });
    writeFileSync(join(tree, 'entrypoint'), HOSTILE_ENTRYPOINT);
    writeFileSync(join(tree, 'probe-targets'), targets(`${process.pid}-root`));
    const asRoot = await execa('bash', ['--noprofile', '--norc', '-c', 'source ./entrypoint'], {
      cwd: tree,
      env: { PATH: DEPLOY_PATH },
      extendEnv: false,
      reject: false,
    });
    // The script returns as soon as it has forked the daemon, which may not have taken its name yet.
    const daemons = await processesNamedSoon(`hostile-daemon-${process.pid}-root`);
    for (const pid of daemons) process.kill(pid, 'SIGKILL');
    for (const dir of [join(work, 'as-root'), join(data, 'deployer'), join(data, 'deployer', 'work', honest, 'tree')]) {
      rmSync(join(dir, `hostile-was-here-${process.pid}-root`), { force: true });
    }
    const unconfined = probeResults(asRoot.stdout);
    expect(Object.fromEntries(PROBES.map((name) => [name, unconfined[name]]))).toEqual(
      Object.fromEntries(PROBES.map((name) => [name, 'REACHED'])),
    );
    expect(daemons).toHaveLength(1);
  }, 300_000);
});
