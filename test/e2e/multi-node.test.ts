import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { buildProjectImage, ensureStandInImage, repoRoot, requireEngine, waitFor } from '../support/docker.js';
import { commitFiles, gitIn } from '../support/git.js';
import {
  startTwoNodeSwarm,
  TWO_NODE_START_TIMEOUT_MS,
  type SwarmNode,
  type TwoNodeSwarm,
} from '../support/two-node-swarm.js';

const SSH_PORT = 2222;
const APP_PORT = 18080;
const INSTALL = join(repoRoot, 'install.sh');

const DOCKERFILE = 'FROM busybox\nCOPY index.html /www/index.html\n';
/** Two web replicas, one per node, each answering on its node's port; two idle tasks swarm may place anywhere. */
const COMPOSE = `version: "3.8"
services:
  web:
    build: .
    image: \${SWARMLET_REGISTRY}/\${APP_NAME}-web
    command: ["httpd", "-f", "-v", "-p", "8080", "-h", "/www"]
    ports:
      - { target: 8080, published: ${APP_PORT}, protocol: tcp, mode: host }
    deploy:
      replicas: 2
      placement:
        max_replicas_per_node: 1
  idle:
    build: .
    image: \${SWARMLET_REGISTRY}/\${APP_NAME}-idle
    command: ["sleep", "100000"]
    deploy:
      replicas: 2
`;

interface TaskInfo {
  NodeID: string;
  DesiredState: string;
  Status: { State: string; Err?: string };
  NetworksAttachments?: { Network: { Spec: { Name: string } }; Addresses: string[] }[];
}

/** The version install.sh gives the images it deploys from this checkout: package version and short commit. */
async function installVersion(): Promise<string> {
  const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  const { stdout } = await execa('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD']);
  return `${version}-${stdout.trim()}`;
}

/**
 * The platform on a real two-node swarm (test/support/two-node-swarm.ts: two engines in network namespaces of this
 * test, no routing mesh): install.sh on the manager with `--publish-mode host`, the worker joined by the command
 * `nodes join-command` prints, then an app spread over both nodes whose worker pulls its image through the
 * registry forwarder, a drain, and a version the worker cannot pull. Nothing can be downloaded inside the
 * namespaces, so the images install.sh would build are built here on this machine's engine from this checkout and
 * loaded (`install.sh --no-build`); the worker gets only the forwarder's image.
 */
describe('the platform on two nodes', () => {
  const work = mkdtempSync(join(tmpdir(), 'swl-multi-'));
  const key = join(work, 'id_ed25519');
  const passwordFile = join(work, 'password');
  const app = `spread-${process.pid}`;
  const repo = join(work, app);
  let swarm: TwoNodeSwarm | undefined;

  const nodes = (): TwoNodeSwarm => {
    if (!swarm) throw new Error('the two-node swarm did not start');
    return swarm;
  };
  const sshOptions = [
    '-i',
    key,
    '-p',
    String(SSH_PORT),
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=ERROR',
  ];
  /** A platform command over SSH, from the manager's namespace, as `ssh git@server WORDS…`. */
  const ssh = (...words: string[]) =>
    nodes().manager.run('ssh', [...sshOptions, 'git@127.0.0.1', ...words], { reject: false, all: true });
  const push = () =>
    nodes().manager.run('git', ['push', 'origin', 'master'], {
      cwd: repo,
      reject: false,
      all: true,
      env: { GIT_SSH_COMMAND: `ssh ${sshOptions.join(' ')}` },
    });
  /** What the app answers on `node`'s published port (without the final newline), asked from the manager's namespace. */
  const answer = async (node: SwarmNode): Promise<string | undefined> => {
    const script = `fetch(process.argv[1]).then(async (r) => process.stdout.write(r.ok ? await r.text() : ''), () => {})`;
    const result = await nodes().manager.run(process.execPath, ['-e', script, `http://${node.address}:${APP_PORT}/`], {
      reject: false,
    });
    return result.stdout || undefined;
  };
  const tasksOf = async (service: string): Promise<TaskInfo[]> =>
    (await nodes().manager.docker.listTasks({ filters: { service: [service] } })) as TaskInfo[];
  const nodeIds = async () => {
    const listed = (await nodes().manager.docker.listNodes()) as { ID: string; Description: { Hostname: string } }[];
    return new Map(listed.map((node) => [node.Description.Hostname, node.ID]));
  };
  /** Hostnames of the nodes running a task of `service`, sorted. */
  const runningOn = async (service: string): Promise<string[]> => {
    const names = new Map([...(await nodeIds())].map(([name, id]) => [id, name]));
    return (await tasksOf(service))
      .filter((task) => task.DesiredState === 'running' && task.Status.State === 'running')
      .map((task) => names.get(task.NodeID) ?? task.NodeID)
      .sort();
  };
  const servedEverywhere = (text: string) =>
    waitFor(
      `both nodes to answer ${text.trim()}`,
      async () => {
        const { manager, worker } = nodes();
        return (await answer(manager)) === text && (await answer(worker)) === text ? true : undefined;
      },
      { timeoutMs: 180_000 },
    );

  beforeAll(async () => {
    const docker = await requireEngine();
    await ensureStandInImage(docker, 'node');
    await ensureStandInImage(docker, 'docker-cli');
    const busybox = await ensureStandInImage(docker, 'busybox');
    const version = await installVersion();
    const images = [
      await buildProjectImage({
        dockerfile: 'registry',
        tag: `swarmlet.invalid/registry:${version}`,
        label: 'swarmlet.managed=true',
      }),
      await buildProjectImage({
        dockerfile: 'deployer',
        tag: `swarmlet.invalid/deployer:${version}`,
        label: 'swarmlet.managed=true',
      }),
      await buildProjectImage({
        dockerfile: 'registry',
        target: 'forwarder',
        tag: `swarmlet.invalid/forwarder:${version}`,
        label: 'swarmlet.managed=true',
      }),
    ];
    swarm = await startTwoNodeSwarm(join(work, 'swarm'), { join: false });
    await swarm.load([...images, busybox], [swarm.manager]);
    await swarm.load([`swarmlet.invalid/forwarder:${version}`], [swarm.worker]);
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'laptop', '-f', key]);
    writeFileSync(passwordFile, `multi-node-pw-${String(process.pid)}\n`, { mode: 0o600 });
    mkdirSync(repo);
    await gitIn(repo, ['init', '--quiet', '--initial-branch', 'master']);
    await gitIn(repo, ['remote', 'add', 'origin', `git@127.0.0.1:${app}`]);
    // The image builds, then the wait for the two-node swarm's lock and its start.
  }, TWO_NODE_START_TIMEOUT_MS + 900_000);

  afterAll(async () => {
    await swarm?.stop();
    rmSync(work, { recursive: true, force: true });
  }, 300_000);

  it('installs on the manager in host publish mode, with the registry forwarder for the other nodes', async () => {
    const installed = await nodes().manager.run(
      'bash',
      [
        INSTALL,
        '--yes',
        '--domain',
        'example.test',
        '--email',
        'ops@example.test',
        '--user',
        'admin',
        '--password-file',
        passwordFile,
        '--ssh-key',
        `${key}.pub`,
        '--publish-mode',
        'host',
        '--without-router',
        '--no-build',
      ],
      {
        reject: false,
        all: true,
        env: {
          SWARMLET_COMMAND: join(work, 'bin', 'swarmlet'),
          SWARMLET_FIREWALL_COMMAND: join(work, 'sbin', 'swarmlet-registry-firewall'),
        },
      },
    );
    expect(installed.all).toContain('==> deploy the registry forwarder on the nodes without the registry');
    expect(installed.exitCode).toBe(0);
  }, 900_000);

  it('joins the worker with the command `nodes join-command` prints, and lists both nodes', async () => {
    const { worker, manager } = nodes();
    const printed = await ssh('nodes', 'join-command', 'worker');
    expect(printed.exitCode).toBe(0);
    const target = /install\.sh --join (SWMTKN-\S+@10\.98\.6\.1:2377)/.exec(printed.stdout)?.[1];
    expect(target).toBeDefined();
    const joined = await worker.run('bash', [INSTALL, '--join', target ?? ''], {
      reject: false,
      all: true,
      env: { SWARMLET_FIREWALL_COMMAND: join(work, 'worker-sbin', 'swarmlet-registry-firewall') },
    });
    expect(joined.exitCode).toBe(0);
    await waitFor('the forwarder to run on the worker', async () =>
      (await runningOn('forwarder_forwarder')).includes(worker.name) ? true : undefined,
    );
    expect(await runningOn('forwarder_forwarder')).toEqual([worker.name]);

    const listed = await ssh('nodes', '--json');
    expect(listed.exitCode).toBe(0);
    const seen = (
      JSON.parse(listed.stdout) as { hostname: string; role: string; labels: Record<string, string> }[]
    ).map(({ hostname, role, labels }) => ({ hostname, role, labels }));
    expect(seen.sort((a, b) => a.hostname.localeCompare(b.hostname))).toEqual([
      {
        hostname: manager.name,
        role: 'manager',
        labels: { 'swarmlet.registry': 'true', 'swarmlet.deployer': 'true' },
      },
      { hostname: worker.name, role: 'worker', labels: {} },
    ]);
    const text = await ssh('nodes');
    expect(text.stdout).toContain(manager.name);
    expect(text.stdout).toContain(worker.name);
  }, 600_000);

  it('runs a pushed app one task per node, the worker pulling its image through the forwarder', async () => {
    const { manager, worker } = nodes();
    await commitFiles(
      repo,
      { Dockerfile: DOCKERFILE, 'index.html': 'version one\n', 'docker-compose.yml': COMPOSE },
      'version one',
    );
    const pushed = await push();
    expect(pushed.all).toContain('-----> converge');
    expect(pushed.exitCode).toBe(0);
    expect(await runningOn(`${app}_web`)).toEqual([manager.name, worker.name]);
    await servedEverywhere('version one');

    const pulled = (await worker.docker.listImages()) as { RepoDigests?: string[] }[];
    expect(
      pulled.flatMap((image) => image.RepoDigests ?? []).some((ref) => ref.startsWith(`127.0.0.1:5000/${app}-web@`)),
    ).toBe(true);
    // The registry saw the worker's pull of the app's manifest come from the forwarder's address on its network.
    const [forwarderTask] = (await tasksOf('forwarder_forwarder')).filter((task) => task.DesiredState === 'running');
    const forwarderAddress = forwarderTask?.NetworksAttachments?.find(
      (attachment) => attachment.Network.Spec.Name === 'registry_internal',
    )?.Addresses[0]?.split('/')[0];
    expect(forwarderAddress).toBeDefined();
    const logs = await manager.run('docker', ['service', 'logs', '--raw', 'registry_registry'], { all: true });
    const remote = new RegExp(`"remoteAddress":"(::ffff:)?${(forwarderAddress ?? '-').replaceAll('.', '\\.')}"`);
    const fromForwarder = `${logs.stdout}\n${logs.stderr}`
      .split('\n')
      .filter((line) => line.includes(`/v2/${app}-web/manifests/`) && remote.test(line));
    expect(fromForwarder.length).toBeGreaterThan(0);

    // status and logs see both nodes: each web task with its node, and lines from both (httpd -v logs requests).
    const status = await ssh('status', app, '--json');
    expect(status.exitCode).toBe(0);
    const services = JSON.parse(status.stdout) as {
      services: { service: string; tasks: { name: string; node: string; state: string }[] }[];
    };
    const web = services.services.find((service) => service.service === 'web');
    const placed = (web?.tasks ?? []).filter((task) => task.state === 'running').map((task) => task.node);
    expect(placed.sort()).toEqual([manager.name, worker.name]);
    const lines = await waitFor(
      'request lines from both web tasks',
      async () => {
        const read = await ssh('logs', app, 'web');
        return /^web\.1 +\| /m.test(read.stdout) && /^web\.2 +\| /m.test(read.stdout) ? read : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 2_000 },
    );
    expect(lines.exitCode).toBe(0);
  }, 900_000);

  it('drains the worker: its tasks move to the manager while the app keeps answering; activate brings it back', async () => {
    const { manager, worker } = nodes();
    const unknown = await ssh('nodes', 'drain', 'no-such-node');
    expect(unknown.exitCode).toBe(1);
    expect(`${unknown.stdout}${unknown.stderr}`.trim().split('\n')).toHaveLength(1);

    const drained = await ssh('nodes', 'drain', worker.name);
    expect(drained.exitCode).toBe(0);
    await waitFor(
      'the idle tasks to run on the manager only',
      async () => {
        const idle = await runningOn(`${app}_idle`);
        return idle.length === 2 && idle.every((name) => name === manager.name) ? true : undefined;
      },
      { timeoutMs: 180_000 },
    );
    expect(await runningOn(`${app}_web`)).toEqual([manager.name]);
    expect(await answer(manager)).toBe('version one');

    expect((await ssh('nodes', 'activate', worker.name)).exitCode).toBe(0);
    await waitFor(
      'web to run on both nodes again',
      async () => ((await runningOn(`${app}_web`)).length === 2 ? true : undefined),
      { timeoutMs: 180_000 },
    );
    await servedEverywhere('version one');
  }, 600_000);

  it('fails a version the worker cannot pull, naming the worker, while both nodes keep serving the previous one', async () => {
    const { manager, worker } = nodes();
    // The worker's forwarder is pointed at nothing: its engine can no longer pull from 127.0.0.1:5000.
    const broken = await manager.run(
      'docker',
      [
        'service',
        'update',
        '--detach',
        '--quiet',
        '--env-add',
        'FORWARDER_UPSTREAM=tasks.nowhere:5000',
        'forwarder_forwarder',
      ],
      { reject: false, all: true },
    );
    expect(broken.exitCode).toBe(0);
    await waitFor(
      "the worker's forwarder to run with the broken upstream",
      async () => {
        const tasks = (await tasksOf('forwarder_forwarder')) as (TaskInfo & {
          Spec?: { ContainerSpec?: { Env?: string[] } };
        })[];
        return tasks.some(
          (task) =>
            task.DesiredState === 'running' &&
            task.Status.State === 'running' &&
            task.Spec?.ContainerSpec?.Env?.includes('FORWARDER_UPSTREAM=tasks.nowhere:5000'),
        )
          ? true
          : undefined;
      },
      { timeoutMs: 120_000 },
    );

    await commitFiles(repo, { 'index.html': 'version two\n' }, 'version two');
    const pushed = await push();
    expect(pushed.exitCode).not.toBe(0);
    expect(pushed.all).toMatch(
      new RegExp(`Deploy failed: converge: service ${app}_(web|idle) failed: .*on node ${worker.name}: No such image`),
    );
    expect(pushed.all).toContain('the previous version was restored and serves again');
    await servedEverywhere('version one');

    const restored = await manager.run(
      'docker',
      [
        'service',
        'update',
        '--quiet',
        '--env-add',
        'FORWARDER_UPSTREAM=tasks.registry_registry:5000',
        'forwarder_forwarder',
      ],
      { reject: false, all: true },
    );
    expect(restored.exitCode).toBe(0);
  }, 900_000);
});
