import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import bcrypt from 'bcryptjs';
import { execa } from 'execa';
import {
  buildProjectImage,
  ensureStandInImage,
  freePort,
  repoRoot,
  requireEngine,
  TEST_LABELS,
  waitFor,
} from '../support/docker.js';
import { gitIn } from '../support/git.js';
import { lockCoreSwarm } from '../support/swarm-lock.js';

interface ServiceSpec {
  Spec: { TaskTemplate: { ContainerSpec: { Env?: string[]; Mounts?: { Source: string; Target: string }[] } } };
}

/**
 * The engine's socket under another name than the stack's default (`/var/run` leads to `/run` on Debian), as an
 * install whose DOCKER_HOST names it passes it: a push of the deployer repository must keep it.
 */
const SOCKET = realpathSync('/var/run/docker.sock');

/**
 * The deployer image as the platform runs it: built from the repository with `deployer.Dockerfile`, deployed as
 * the `deployer` core stack from `stacks/deployer` (host network, start-first), with a key added by
 * `swarmlet keys add` inside the container. Then the platform updates itself: the seeded `deployer` repository is
 * cloned, changed and pushed over SSH, and the pusher learns the outcome from the task being replaced.
 */
describe('the deployer core stack', () => {
  const suffix = `${process.pid}-${Date.now()}`;
  const version = `deployer-${suffix}`;
  const tokenSecret = `swarmlet-test-agent-token-${suffix}`;
  const passwordSecret = `swarmlet-test-registry-password-${suffix}`;
  const htpasswdSecret = `swarmlet-test-htpasswd-${suffix}`;
  const dashboardPassword = `dashboard-${suffix}`;
  /** Where the agent serves the dashboard for the stack's dashboard service: this node's docker_gwbridge gateway. */
  let dashboardAddr = '';
  const network = `swarmlet-test-deployer-traefik-${process.pid}`;
  const work = mkdtempSync(join(tmpdir(), 'swarmlet-deployer-stack-'));
  const key = join(work, 'id_ed25519');
  const clone = join(work, 'deployer');
  let docker: Docker | undefined;
  let releaseLock: (() => void) | undefined;
  let nodeId = '';
  let sshPort = 0;

  const engine = (): Docker => {
    if (!docker) throw new Error('the Docker engine was not reached in beforeAll');
    return docker;
  };
  const sshCommand = () =>
    `ssh -i ${key} -p ${sshPort} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR`;
  const git = (...args: string[]) => gitIn(clone, args, { GIT_SSH_COMMAND: sshCommand() });
  const hostKey = async (): Promise<string | undefined> => {
    const scan = await execa('ssh-keyscan', ['-p', String(sshPort), '-t', 'ed25519', '127.0.0.1'], { reject: false });
    return scan.stdout.trim() === '' ? undefined : scan.stdout.split(' ').slice(1).join(' ');
  };
  const runningContainers = async () =>
    engine().listContainers({ filters: { label: ['com.docker.swarm.service.name=deployer_deployer'] } });

  beforeAll(async () => {
    releaseLock = await lockCoreSwarm();
    docker = await requireEngine();
    nodeId = ((await docker.info()) as { Swarm: { NodeID: string } }).Swarm.NodeID;
    await ensureStandInImage(docker, 'node');
    await ensureStandInImage(docker, 'docker-cli');
    await buildProjectImage({
      dockerfile: 'deployer',
      tag: `swarmlet.invalid/deployer:${version}`,
      label: 'swarmlet.test=true',
    });
    await execa('docker', ['secret', 'create', '--label', 'swarmlet.test=true', tokenSecret, '-'], {
      input: `token-${suffix}`,
    });
    await execa('docker', ['secret', 'create', '--label', 'swarmlet.test=true', passwordSecret, '-'], {
      input: `password-${suffix}`,
    });
    await execa('docker', ['secret', 'create', '--label', 'swarmlet.test=true', htpasswdSecret, '-'], {
      input: `admin:${bcrypt.hashSync(dashboardPassword, 10)}\n`,
    });
    await buildProjectImage({
      dockerfile: 'registry',
      target: 'forwarder',
      tag: `swarmlet.invalid/forwarder:${version}`,
      label: 'swarmlet.test=true',
    });
    const gateway = (await docker.getNetwork('docker_gwbridge').inspect()) as {
      IPAM: { Config: { Gateway: string }[] };
    };
    dashboardAddr = `${gateway.IPAM.Config[0]?.Gateway ?? ''}:8788`;
    await docker.createNetwork({ Name: network, Driver: 'overlay', Attachable: true, Labels: TEST_LABELS });
    await execa('docker', ['node', 'update', '--label-add', 'swarmlet.deployer=true', nodeId]);
    sshPort = await freePort();
    await execa(
      'docker',
      [
        'stack',
        'deploy',
        '--resolve-image',
        'never',
        '-c',
        join(repoRoot, 'stacks/deployer/docker-compose.yml'),
        'deployer',
      ],
      {
        env: {
          SWARMLET_VERSION: version,
          SSH_PORT: String(sshPort),
          SWARMLET_USERNAME: 'admin',
          SWARMLET_EMAIL: 'ops@example.test',
          ROOT_DOMAIN: 'example.test',
          TRAEFIK_NETWORK: network,
          SWARMLET_PUBLISH_MODE: 'host',
          AGENT_TOKEN_SECRET: tokenSecret,
          REGISTRY_PASSWORD_SECRET: passwordSecret,
          REGISTRY_HTPASSWD_SECRET: htpasswdSecret,
          DASHBOARD_ADDR: dashboardAddr,
          DOCKER_SOCKET: SOCKET,
          SWARMLET_ROUTER: 'none',
        },
      },
    );
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'operator', '-f', key]);
  }, 2_400_000);

  afterAll(async () => {
    await execa('docker', ['stack', 'rm', 'deployer'], { reject: false });
    if (docker) {
      const engine = docker;
      await waitFor(
        'the deployer containers to go',
        async () => {
          const left = await engine.listContainers({
            all: true,
            filters: { label: ['com.docker.stack.namespace=deployer'] },
          });
          for (const container of left) {
            await engine
              .getContainer(container.Id)
              .remove({ force: true })
              .catch(() => undefined);
          }
          return left.length === 0 ? true : undefined;
        },
        { timeoutMs: 60_000 },
      ).catch(() => undefined);
      await waitFor(
        'the volume and network to be removable',
        async () => {
          await engine.getVolume('deployer_deployer-data').remove().catch(ignoreMissing);
          await engine.getNetwork(network).remove().catch(ignoreMissing);
          return true;
        },
        { timeoutMs: 30_000 },
      ).catch(() => undefined);
      for (const image of [`swarmlet.invalid/deployer:${version}`, `swarmlet.invalid/forwarder:${version}`]) {
        await engine
          .getImage(image)
          .remove({ force: true })
          .catch(() => undefined);
      }
    }
    await execa('docker', ['secret', 'rm', tokenSecret, passwordSecret, htpasswdSecret], { reject: false });
    await execa('docker', ['node', 'update', '--label-rm', 'swarmlet.deployer', nodeId], { reject: false });
    rmSync(work, { recursive: true, force: true });
    releaseLock?.();
  }, 180_000);

  it('runs one healthy task whose swarmlet keys add lets a key in over SSH', async () => {
    const [container] = await waitFor(
      'a healthy deployer task',
      async () => {
        const healthy = await engine().listContainers({
          filters: { label: ['com.docker.swarm.service.name=deployer_deployer'], health: ['healthy'] },
        });
        return healthy.length === 1 ? healthy : undefined;
      },
      { timeoutMs: 180_000 },
    );
    const inspected = await engine()
      .getContainer(container?.Id ?? '')
      .inspect();
    expect(inspected.HostConfig.Privileged).toBe(false);
    expect(inspected.HostConfig.CapAdd ?? []).toEqual([]);
    const added = await execa('docker', ['exec', '-i', container?.Id ?? '', 'swarmlet', 'keys', 'add', 'operator'], {
      input: readFileSync(`${key}.pub`, 'utf8'),
    });
    expect(added.stdout).toMatch(/^added SHA256:\S+ ssh-ed25519 admin operator$/);
    await waitFor('the receiver to answer', hostKey);
    const cloned = await gitIn(work, ['clone', `ssh://git@127.0.0.1:${sshPort}/deployer`, clone], {
      GIT_SSH_COMMAND: sshCommand(),
    });
    expect(cloned.exitCode).toBe(0);
    expect(readdirSync(clone).sort()).toEqual(
      readdirSync(join(repoRoot, 'stacks', 'deployer'))
        .concat('.git')
        .sort(),
    );
  }, 300_000);

  it('serves the dashboard on the Traefik network through its dashboard service, signing in the platform user', async () => {
    // What Traefik does: connect to the dashboard service's task over the Traefik network, port 8080.
    const script = [
      "const base = 'http://tasks.deployer_dashboard:8080';",
      "const form = new URLSearchParams({ user: 'admin', password: process.argv[1], next: '/' });",
      'const ask = async () => {',
      "  const page = await fetch(base + '/signin');",
      "  const signedIn = await fetch(base + '/signin', { method: 'POST', body: form, redirect: 'manual',",
      "    headers: { 'X-Forwarded-Proto': 'https', Origin: 'https://tasks.deployer_dashboard:8080' } });",
      "  console.log(JSON.stringify({ page: page.status, signIn: signedIn.status, cookie: signedIn.headers.get('set-cookie') }));",
      '};',
      'ask().catch((error) => { console.error(error.message); process.exit(1); });',
    ].join('\n');
    const answer = await waitFor(
      'the dashboard to answer through the dashboard service',
      async () => {
        const run = await execa(
          'docker',
          ['run', '--rm', '--network', network, 'node:22-bookworm-slim', 'node', '-e', script, dashboardPassword],
          { reject: false },
        );
        return run.exitCode === 0
          ? (JSON.parse(run.stdout) as { page: number; signIn: number; cookie: string })
          : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 3_000 },
    );
    expect(answer.page).toBe(200);
    expect(answer.signIn).toBe(303);
    expect(answer.cookie).toMatch(/^swarmlet_session=\S+;.*HttpOnly/i);
    expect(answer.cookie).toMatch(/Secure/);
  }, 300_000);

  it('updates itself from a push of the deployer repository, and the pusher learns the outcome', async () => {
    expect(SOCKET).not.toBe('/var/run/docker.sock');
    const keyBefore = await hostKey();
    const [old] = await runningContainers();
    writeFileSync(
      join(clone, '.env'),
      [
        `SSH_PORT=${String(sshPort)}`,
        'LOG_LEVEL=debug',
        `AGENT_TOKEN_SECRET=${tokenSecret}`,
        `REGISTRY_PASSWORD_SECRET=${passwordSecret}`,
        `REGISTRY_HTPASSWD_SECRET=${htpasswdSecret}`,
        '',
      ].join('\n'),
    );
    await git('commit', '--quiet', '-am', 'debug logs');
    const commit = (await git('rev-parse', 'HEAD')).stdout;
    const push = await git('push', 'origin', 'master');
    expect(push.all).toContain('remote: -----> Deployed deployer');
    expect(push.exitCode).toBe(0);
    const service = (await engine().getService('deployer_deployer').inspect()) as ServiceSpec;
    expect(service.Spec.TaskTemplate.ContainerSpec.Env).toContain('SWARMLET_LOG_LEVEL=debug');
    // What the install chose, which the pushed .env does not say, is kept.
    expect(service.Spec.TaskTemplate.ContainerSpec.Env).toEqual(
      expect.arrayContaining([
        'SWARMLET_ROUTER=none',
        `SWARMLET_HOST_DOCKER_SOCKET=${SOCKET}`,
        `SWARMLET_DASHBOARD_ADDR=${dashboardAddr}`,
      ]),
    );
    expect(service.Spec.TaskTemplate.ContainerSpec.Mounts).toContainEqual(
      expect.objectContaining({ Source: SOCKET, Target: '/var/run/docker.sock' }),
    );
    const dashboard = (await engine().getService('deployer_dashboard').inspect()) as ServiceSpec;
    expect(dashboard.Spec.TaskTemplate.ContainerSpec.Env).toContain(`FORWARDER_UPSTREAM=${dashboardAddr}`);
    await waitFor('the old task to have drained and gone', async () => {
      const running = await runningContainers();
      return running.length === 1 && running[0]?.Id !== old?.Id ? true : undefined;
    });
    expect(await waitFor('the new receiver to take the SSH port', hostKey)).toBe(keyBefore);
    expect((await git('ls-remote', 'origin', 'refs/heads/master')).stdout.split('\t')[0]).toBe(commit);
  }, 600_000);
});

function ignoreMissing(error: unknown): void {
  if ((error as { statusCode?: number }).statusCode !== 404) throw error;
}
