import { spawn } from 'node:child_process';
import {
  accessSync,
  constants,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { delimiter, join } from 'node:path';
import Docker from 'dockerode';
import { execa, type Options, type ResultPromise } from 'execa';
import { waitFor } from './docker.js';
import { lockTwoNodeSwarm } from './swarm-lock.js';

/**
 * A real two-node Docker swarm on one machine, for tests. Each node is its own dockerd in its own network
 * namespace (and UTS namespace, for its hostname); a veth pair joins the two namespaces:
 *
 * ```
 *  netns swarmlet-n1 (manager)            netns swarmlet-n2 (worker)
 *  swl-n1 10.98.6.1/24  ◀──── veth ────▶  swl-n2 10.98.6.2/24
 *  docker0 10.98.7.1/24                   docker0 10.98.8.1/24
 *  local networks from 10.98.64.0/20      local networks from 10.98.80.0/20
 *                 overlay networks from 10.98.96.0/20 (the swarm's pool)
 * ```
 *
 * State under the caller's directory: `n1.sock`, `n2.sock` (the engines' sockets) and `n1/`, `n2/` (data-root,
 * exec-root, pidfile, `dockerd.log`). The kernel here has no IPVS: services need `endpoint_mode: dnsrr` and
 * host-mode ports. Nothing can be pulled: {@link TwoNodeSwarm.load} copies images from this machine's engine.
 */

/** What {@link SwarmNode.run} may be given: execa's options for a command whose output is text. */
export type NodeRunOptions = Pick<Options, 'input' | 'reject' | 'all' | 'timeout' | 'cwd'> & {
  env?: Record<string, string>;
};

/** One node of the two-node swarm. */
export interface SwarmNode {
  /** The node's hostname, also its network namespace's name: `swarmlet-n1` or `swarmlet-n2`. */
  name: string;
  /** Its address on the link between the nodes. */
  address: string;
  /** The path of its engine's unix socket. */
  socket: string;
  /** A client of its engine. */
  docker: Docker;
  /**
   * Runs `file` with `args` inside the node's network namespace, with `DOCKER_HOST` naming its engine (added to
   * `options.env`); otherwise as `execa(file, args, options)`.
   */
  run(file: string, args?: readonly string[], options?: NodeRunOptions): ResultPromise<NodeRunOptions>;
}

/** A running two-node swarm; see {@link startTwoNodeSwarm}. */
export interface TwoNodeSwarm {
  manager: SwarmNode;
  worker: SwarmNode;
  /** Copies the images (names as this machine's engine knows them) into the nodes' engines (default: both). */
  load(images: string[], nodes?: readonly SwarmNode[]): Promise<void>;
  /**
   * Makes both nodes leave the swarm, stops both engines (and whatever is left in their namespaces), deletes the
   * namespaces and removes the state under the directory. Idempotent; never throws.
   */
  stop(): Promise<void>;
}

interface NodePlan {
  name: string;
  short: string;
  address: string;
  veth: string;
  bridge: string;
  pool: string;
}

const MANAGER: NodePlan = {
  name: 'swarmlet-n1',
  short: 'n1',
  address: '10.98.6.1',
  veth: 'swl-n1',
  bridge: '10.98.7.1/24',
  pool: '10.98.64.0/20',
};
const WORKER: NodePlan = {
  name: 'swarmlet-n2',
  short: 'n2',
  address: '10.98.6.2',
  veth: 'swl-n2',
  bridge: '10.98.8.1/24',
  pool: '10.98.80.0/20',
};
const SWARM_POOL = '10.98.96.0/20';
/** How long {@link startTwoNodeSwarm} waits for another test file's two-node swarm to be stopped. */
const LOCK_WAIT_MS = 30 * 60_000;
/**
 * The time a test's hook should give {@link startTwoNodeSwarm}: the wait for the machine-wide lock (another file's
 * two-node swarm may be running) and the start itself.
 */
export const TWO_NODE_START_TIMEOUT_MS = LOCK_WAIT_MS + 5 * 60_000;
const SWARM_PORT = 2377;
const REQUIRED_PROGRAMS = ['ip', 'nsenter', 'unshare', 'dockerd', 'docker'] as const;

const netnsPath = (plan: NodePlan) => `/var/run/netns/${plan.name}`;

/** The state and identity of a node under `dir`. */
function nodePaths(dir: string, plan: NodePlan) {
  const home = join(dir, plan.short);
  return {
    home,
    data: join(home, 'data'),
    exec: join(home, 'exec'),
    pidfile: join(home, 'docker.pid'),
    log: join(home, 'dockerd.log'),
    socket: join(dir, `${plan.short}.sock`),
  };
}

function onPath(program: string): boolean {
  return (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter).some((folder) => {
    try {
      accessSync(join(folder, program), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function requireRootAndTools(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('the two-node swarm needs root (it creates network namespaces and starts dockerd)');
  }
  const missing = REQUIRED_PROGRAMS.filter((program) => !onPath(program));
  if (missing.length > 0) {
    throw new Error(
      `the two-node swarm needs ${missing.join(', ')}: run 'bash scripts/ensure-test-tools.sh' and 'bash scripts/ensure-docker.sh' as root`,
    );
  }
}

/** The pids of the processes in network namespace `name` (none when it does not exist). */
async function pidsInNamespace(name: string): Promise<number[]> {
  const { stdout } = await execa('ip', ['netns', 'pids', name], { reject: false });
  return stdout
    .split('\n')
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone already
  }
}

/** Waits until none of `pids` lives, up to `timeoutMs`; resolves with those still alive. */
async function waitGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = pids.filter(isAlive);
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    alive = alive.filter(isAlive);
  }
  return alive;
}

/** The value of `--data-root` and `--exec-root` on the command line of process `pid`, if it has them. */
function enginePaths(pid: number): string[] {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (!args.includes('--data-root')) return [];
    return ['--data-root', '--exec-root']
      .filter((flag) => args.includes(flag))
      .map((flag) => args[args.indexOf(flag) + 1])
      .filter((path): path is string => path?.startsWith('/') === true);
  } catch {
    return [];
  }
}

/** Lazily unmounts every mount point at or under one of `roots`, deepest first. */
async function unmountUnder(roots: string[]): Promise<void> {
  if (roots.length === 0) return;
  const mountPoints = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4]?.replace(/\\040/g, ' '))
    .filter((point): point is string => point !== undefined)
    .filter((point) => roots.some((root) => point === root || point.startsWith(`${root}/`)))
    .sort((a, b) => b.length - a.length);
  for (const point of mountPoints) await execa('umount', ['-l', point], { reject: false });
}

/**
 * Stops every process in the node's namespace (the engine first, with time to stop its containers), unmounts
 * what its engine left mounted and deletes the namespace (its end of the veth pair goes with it). Resolves with
 * the data and exec roots of the engines it found, for the caller to remove.
 */
async function clearNode(plan: NodePlan, pidfile: string): Promise<string[]> {
  const engine = Number(existsSync(pidfile) ? readFileSync(pidfile, 'utf8').trim() : NaN);
  const everyone = await pidsInNamespace(plan.name);
  const engines = [...new Set([engine, ...everyone])].filter(
    (pid) => Number.isInteger(pid) && pid > 0 && enginePaths(pid).length > 0,
  );
  const roots = engines.flatMap(enginePaths);
  for (const pid of engines) signal(pid, 'SIGTERM');
  for (const pid of await waitGone(engines, 60_000)) signal(pid, 'SIGKILL');
  const rest = await pidsInNamespace(plan.name);
  for (const pid of rest) signal(pid, 'SIGTERM');
  for (const pid of await waitGone(rest, 10_000)) signal(pid, 'SIGKILL');
  await waitGone([...engines, ...rest], 10_000);
  await unmountUnder(roots);
  await execa('ip', ['netns', 'del', plan.name], { reject: false });
  await execa('ip', ['link', 'del', plan.veth], { reject: false });
  return roots;
}

/** Runs `file args` in network namespace `plan.name`. */
function inNamespace(plan: NodePlan, file: string, args: readonly string[]) {
  return execa('nsenter', [`--net=${netnsPath(plan)}`, '--', file, ...args]);
}

async function createLink(): Promise<void> {
  await execa('ip', ['netns', 'add', MANAGER.name]);
  await execa('ip', ['netns', 'add', WORKER.name]);
  await execa('ip', ['link', 'add', MANAGER.veth, 'type', 'veth', 'peer', 'name', WORKER.veth]);
  for (const plan of [MANAGER, WORKER]) {
    await execa('ip', ['link', 'set', plan.veth, 'netns', plan.name]);
    await inNamespace(plan, 'ip', ['link', 'set', 'lo', 'up']);
    await inNamespace(plan, 'ip', ['addr', 'add', `${plan.address}/24`, 'dev', plan.veth]);
    await inNamespace(plan, 'ip', ['link', 'set', plan.veth, 'up']);
  }
}

/**
 * Starts the node's dockerd in its namespaces, detached (a crashed test leaves it to the next start's cleanup),
 * and resolves once it answers on its socket.
 * @throws Error with the tail of its log when it exits or does not answer within two minutes.
 */
async function startEngine(dir: string, plan: NodePlan): Promise<Docker> {
  const paths = nodePaths(dir, plan);
  mkdirSync(paths.data, { recursive: true });
  mkdirSync(paths.exec, { recursive: true });
  // A file descriptor of its own, not a pipe through this process: the engine outlives a test that crashes.
  const log = openSync(paths.log, 'a');
  // nsenter --net keeps the host's cgroup mounts visible (ip netns exec would remount /sys and hide them).
  const engine = spawn(
    'unshare',
    [
      '--uts',
      '--',
      'sh',
      '-c',
      'hostname "$0" && exec "$@"',
      plan.name,
      'nsenter',
      `--net=${netnsPath(plan)}`,
      '--',
      'dockerd',
      '--data-root',
      paths.data,
      '--exec-root',
      paths.exec,
      '--pidfile',
      paths.pidfile,
      '-H',
      `unix://${paths.socket}`,
      '--storage-driver',
      'overlay2',
      '--bip',
      plan.bridge,
      '--default-address-pool',
      `base=${plan.pool},size=24`,
    ],
    { detached: true, stdio: ['ignore', log, log] },
  );
  closeSync(log);
  let exited = false;
  engine.once('exit', () => {
    exited = true;
  });
  engine.once('error', () => {
    exited = true;
  });
  engine.unref();
  const docker = new Docker({ socketPath: paths.socket });
  try {
    await waitFor(
      `dockerd ${plan.name} to answer on ${paths.socket}`,
      async () => {
        if (exited) throw new Error('it exited');
        await docker.ping();
        return true;
      },
      { timeoutMs: 120_000 },
    );
  } catch (error) {
    const tail = existsSync(paths.log) ? readFileSync(paths.log, 'utf8').trim().split('\n').slice(-5).join('\n') : '';
    throw new Error(`${(error as Error).message}; its log ${paths.log} ends with:\n${tail}`, { cause: error });
  }
  return docker;
}

function makeNode(dir: string, plan: NodePlan, docker: Docker): SwarmNode {
  const { socket } = nodePaths(dir, plan);
  return {
    name: plan.name,
    address: plan.address,
    socket,
    docker,
    run(file, args = [], options = {}) {
      const env = { ...options.env, DOCKER_HOST: `unix://${socket}` };
      return execa('nsenter', [`--net=${netnsPath(plan)}`, '--', file, ...args], { ...options, env });
    },
  };
}

async function readyNodes(docker: Docker): Promise<number> {
  const nodes = (await docker.listNodes()) as { Status?: { State?: string } }[];
  return nodes.filter((node) => node.Status?.State === 'ready').length;
}

/** Joins `worker` to the swarm that `manager` leads, as a worker, and waits until the manager sees it Ready. */
export async function joinWorker(manager: SwarmNode, worker: SwarmNode): Promise<void> {
  const swarm = (await manager.docker.swarmInspect()) as { JoinTokens: { Worker: string } };
  await worker.docker.swarmJoin({
    ListenAddr: `${worker.address}:${SWARM_PORT}`,
    AdvertiseAddr: worker.address,
    RemoteAddrs: [`${manager.address}:${SWARM_PORT}`],
    JoinToken: swarm.JoinTokens.Worker,
  });
  await waitFor('both nodes to be Ready', async () => ((await readyNodes(manager.docker)) === 2 ? true : undefined), {
    timeoutMs: 120_000,
  });
}

/**
 * Starts a two-node swarm with its state under `dir` (created if missing; give a short path, sockets live there):
 * takes the machine-wide two-node lock, removes what a crashed earlier run left under the same names, creates the
 * namespaces and the link, starts both engines, initialises the swarm on the manager (advertising 10.98.6.1) and,
 * when `join` (the default), joins the worker and waits until both nodes are Ready.
 * @throws Error in one line when not root or a program is missing (nothing is touched then); Error when a step
 * fails, after undoing what was started.
 */
export async function startTwoNodeSwarm(dir: string, { join: joinTheWorker = true } = {}): Promise<TwoNodeSwarm> {
  requireRootAndTools();
  const release = await lockTwoNodeSwarm(LOCK_WAIT_MS);
  const nodes: SwarmNode[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    try {
      for (const node of nodes) await node.docker.swarmLeave({ force: true }).catch(() => undefined);
      const roots = [
        ...(await clearNode(WORKER, nodePaths(dir, WORKER).pidfile)),
        ...(await clearNode(MANAGER, nodePaths(dir, MANAGER).pidfile)),
      ];
      await unmountUnder([dir]);
      for (const root of roots) rmSync(root, { recursive: true, force: true });
      for (const plan of [MANAGER, WORKER]) {
        const paths = nodePaths(dir, plan);
        rmSync(paths.home, { recursive: true, force: true });
        rmSync(paths.socket, { force: true });
      }
    } catch (error) {
      console.warn(`the two-node swarm under ${dir} did not stop cleanly: ${(error as Error).message}`);
    } finally {
      release();
    }
  };
  try {
    for (const plan of [WORKER, MANAGER]) {
      const leftovers = await clearNode(plan, nodePaths(dir, plan).pidfile);
      for (const root of leftovers) rmSync(root, { recursive: true, force: true });
    }
    mkdirSync(dir, { recursive: true });
    await createLink();
    const [managerDocker, workerDocker] = await Promise.all([startEngine(dir, MANAGER), startEngine(dir, WORKER)]);
    const manager = makeNode(dir, MANAGER, managerDocker);
    const worker = makeNode(dir, WORKER, workerDocker);
    nodes.push(worker, manager);
    await manager.docker.swarmInit({
      ListenAddr: `${MANAGER.address}:${SWARM_PORT}`,
      AdvertiseAddr: MANAGER.address,
      DefaultAddrPool: [SWARM_POOL],
      SubnetSize: 24,
    });
    if (joinTheWorker) await joinWorker(manager, worker);
    const load = async (images: string[], into: readonly SwarmNode[] = [manager, worker]): Promise<void> => {
      if (images.length === 0) return;
      const archive = join(dir, `images-${process.pid}.tar`);
      try {
        await execa('docker', ['save', '-o', archive, ...images]);
        await Promise.all(
          into.map((node) => execa('docker', ['-H', `unix://${node.socket}`, 'load', '-q', '-i', archive])),
        );
      } finally {
        rmSync(archive, { force: true });
      }
    };
    return { manager, worker, load, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * What a two-node swarm started on `dir` left behind: the nodes' network namespaces and the processes with `dir`
 * on their command line (its engines, their containerd and shims), one line each; empty when nothing is left.
 */
export function twoNodeSwarmLeftovers(dir: string): string[] {
  const found: string[] = [];
  for (const plan of [MANAGER, WORKER]) {
    if (existsSync(netnsPath(plan))) found.push(`network namespace ${plan.name}`);
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (args.includes(dir)) found.push(`process ${entry}: ${args.slice(0, 120)}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
