import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { execa } from 'execa';
import { ensureStandInImage, freePort, removeStack, repoRoot, requireEngine, waitFor } from '../support/docker.js';
import { commitFiles, gitIn } from '../support/git.js';
import { lockCoreSwarm } from '../support/swarm-lock.js';

const SSH_PORT = 2222;
const REGISTRY = '127.0.0.1:5000';
const VOLUMES = ['registry_registry-data', 'deployer_deployer-data'];
/** Where install.sh puts the server's swarmlet command. */
const COMMAND = '/usr/local/bin/swarmlet';
/** Where install.sh puts the script that confines the registry's port, and the chain that script makes. */
const FIREWALL = '/usr/local/sbin/swarmlet-registry-firewall';
const FIREWALL_CHAIN = 'SWARMLET-REGISTRY-5000';

/** The rules of DOCKER-USER that jump to the registry port's chain. */
async function registryPortJumps(): Promise<string[]> {
  const { stdout } = await execa('iptables', ['-w', '-S', 'DOCKER-USER']);
  return stdout.split('\n').filter((line) => line.endsWith(`-j ${FIREWALL_CHAIN}`));
}

const APP_COMPOSE = `version: "3.8"
services:
  web:
    build: .
    image: \${SWARMLET_REGISTRY}/\${APP_NAME}-web
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    ports:
      - target: 8080
        published: \${PORT}
        protocol: tcp
        mode: host
`;

/**
 * `install.sh` as a user runs it on a fresh server, here non-interactively against this machine's engine, with
 * images built from the repository on the stand-in bases. Traefik cannot be pulled here, so the router stack is
 * left out (`--without-router`) and read instead (see test/stacks); published ports use host mode (no routing
 * mesh). Then the platform is used as installed: a key from ssh-keygen, docker login, git push of an app, a push of
 * the registry repo; a second run; and `--uninstall`.
 */
describe('install.sh', () => {
  const work = mkdtempSync(join(tmpdir(), 'swarmlet-install-'));
  const key = join(work, 'id_ed25519');
  const passwordFile = join(work, 'password');
  const password = `install-pw-${String(process.pid)}`;
  const app = `installed-${String(process.pid)}`;
  const appDir = join(work, app);
  const dockerConfig = join(work, 'docker-config');
  let docker: Docker | undefined;
  let releaseLock: (() => void) | undefined;
  let appPort = 0;

  const engine = (): Docker => {
    if (!docker) throw new Error('the Docker engine was not reached in beforeAll');
    return docker;
  };
  const install = (...args: string[]) =>
    execa('bash', [join(repoRoot, 'install.sh'), ...args], { reject: false, all: true, stdin: 'ignore' });
  const installArgs = [
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
  ];
  const sshEnv = () => ({
    GIT_SSH_COMMAND: `ssh -i ${key} -p ${String(SSH_PORT)} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR`,
  });
  const dockerLogin = (secret: string) =>
    execa('docker', ['--config', dockerConfig, 'login', REGISTRY, '--username', 'admin', '--password-stdin'], {
      input: secret,
      reject: false,
      all: true,
    });
  const nodeId = async (): Promise<string> => ((await engine().info()) as { Swarm: { NodeID: string } }).Swarm.NodeID;
  const served = (expected: string) =>
    waitFor(`the app to answer ${expected.trim()}`, async () => {
      const response = await fetch(`http://127.0.0.1:${String(appPort)}/`).catch(() => undefined);
      const text = response?.ok ? await response.text() : undefined;
      return text === expected ? text : undefined;
    });
  const catalog = async (): Promise<string[]> => {
    const response = await fetch(`http://${REGISTRY}/v2/_catalog`, {
      headers: { Authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` },
    });
    return ((await response.json()) as { repositories: string[] }).repositories;
  };

  beforeAll(async () => {
    releaseLock = await lockCoreSwarm();
    docker = await requireEngine();
    await ensureStandInImage(docker, 'node');
    await ensureStandInImage(docker, 'docker-cli');
    await ensureStandInImage(docker, 'busybox');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'laptop', '-f', key]);
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    mkdirSync(dockerConfig);
    appPort = await freePort();
  }, 2_400_000);

  afterAll(async () => {
    await install('--uninstall', '--purge');
    await removeStack(docker, app, `swarmlet.app=${app}`);
    if (docker) {
      for (const volume of VOLUMES) {
        await docker
          .getVolume(volume)
          .remove()
          .catch(() => undefined);
      }
    }
    rmSync(work, { recursive: true, force: true });
    releaseLock?.();
  }, 600_000);

  it('asks for the password twice without echoing it, and stops before touching the machine when they differ', async () => {
    const session = execa(
      'script',
      [
        '--quiet',
        '--return',
        '--command',
        `bash ${join(repoRoot, 'install.sh')} --domain example.test --user admin`,
        '/dev/null',
      ],
      { reject: false, all: true },
    );
    let screen = '';
    const answers: [prompt: string, reply: string][] = [
      ['Password for admin: ', 'first-Passw0rd\n'],
      ['The same password again: ', 'second-Passw0rd\n'],
    ];
    session.all.on('data', (chunk: Buffer) => {
      screen += chunk.toString('utf8');
      const next = answers[0];
      if (next && screen.includes(next[0])) {
        answers.shift();
        session.stdin.write(next[1]);
      }
    });
    await session;
    const result = await session;
    expect(answers).toEqual([]);
    expect(screen).toContain('install.sh: step "gather the settings" failed: the passwords differ');
    expect(screen).not.toContain('Passw0rd');
    expect(result.exitCode).not.toBe(0);
    const secrets = await engine().listSecrets();
    expect(secrets.map((secret) => secret.Spec?.Name)).not.toContain('swarmlet-registry-htpasswd');
    const labels = (
      (await engine()
        .getNode(await nodeId())
        .inspect()) as { Spec: { Labels: Record<string, string> } }
    ).Spec.Labels;
    expect(labels['swarmlet.registry']).toBeUndefined();
  }, 300_000);

  it('installs the platform non-interactively, saying each step, and prints the next steps', async () => {
    const result = await install(...installArgs);
    expect(result.all).toContain('==> build the images');
    expect(result.all).toContain('==> deploy the deployer stack');
    expect(result.all).toContain('==> registry_registry runs');
    expect(result.all).toContain('Host swarmlet');
    expect(result.all).toContain('dashboard  https://swarmlet.example.test (sign in as admin); without the router');
    expect(result.all).toContain('operate your apps: ssh swarmlet apps');
    expect(existsSync(COMMAND)).toBe(true);
    expect(result.all).toContain("==> confine the registry's port 5000 to this machine and the swarm's nodes");
    expect(existsSync(FIREWALL)).toBe(true);
    expect(await registryPortJumps()).toHaveLength(1);
    expect(result.all).toContain('docker login registry.example.test --username admin');
    expect(result.all).not.toContain(password);
    expect(result.exitCode).toBe(0);
    const labels = (
      (await engine()
        .getNode(await nodeId())
        .inspect()) as {
        Spec: { Labels: Record<string, string> };
      }
    ).Spec.Labels;
    expect(labels).toMatchObject({ 'swarmlet.registry': 'true', 'swarmlet.deployer': 'true' });
    const { stdout: processes } = await execa('ps', ['-eo', 'args']);
    expect(processes).not.toContain(password);
  }, 1_200_000);

  it('lets docker login in with the install’s credentials and refuses a wrong password', async () => {
    const wrong = await dockerLogin('not-the-password');
    expect(wrong.exitCode).not.toBe(0);
    expect(wrong.all).toMatch(/unauthorized|401/i);
    const right = await dockerLogin(password);
    expect(right.all).toContain('Login Succeeded');
  }, 120_000);

  it('deploys an app pushed with git over SSH with the installed key, and serves it', async () => {
    await execa('git', ['init', '--quiet', '-b', 'master', appDir]);
    await commitFiles(
      appDir,
      {
        Dockerfile: 'FROM busybox\nCOPY index.html /www/index.html\n',
        'index.html': 'installed and pushed\n',
        'docker-compose.yml': APP_COMPOSE,
        '.env': `PORT=${String(appPort)}\n`,
      },
      'first',
    );
    const push = await gitIn(appDir, ['push', `ssh://git@127.0.0.1:${String(SSH_PORT)}/${app}`, 'master'], sshEnv());
    expect(push.all).toContain('remote: -----> build');
    expect(push.exitCode).toBe(0);
    expect(await served('installed and pushed\n')).toBe('installed and pushed\n');
    expect(await catalog()).toContain(`${app}-web`);
  }, 600_000);

  it('operates the app with the same verbs over SSH and with the swarmlet command on the server', async () => {
    const ssh = (...args: string[]) =>
      execa('ssh', [...sshEnv().GIT_SSH_COMMAND.split(' ').slice(1), 'git@127.0.0.1', ...args], {
        reject: false,
        all: true,
        stdin: 'ignore',
      });
    const server = (...args: string[]) => execa(COMMAND, args, { reject: false, all: true, stdin: 'ignore' });
    const apps = await server('apps');
    expect(apps.exitCode).toBe(0);
    expect(apps.stdout).toMatch(new RegExp(`^${app}\\s+1/1\\s+[0-9a-f]{12}\\s+master\\s`, 'm'));
    // The deployer stack: the agent with the receiver, and the dashboard's forwarder.
    expect(apps.stdout).toMatch(/^deployer \(core\)\s+2\/2/m);
    expect((await ssh('apps')).stdout).toBe(apps.stdout);
    const set = await ssh('config', 'set', app, "'MOTD=set over ssh'");
    expect(set.all).toContain(`config of ${app}: set MOTD`);
    expect(set.exitCode).toBe(0);
    expect((await server('config', 'get', app, 'MOTD')).stdout).toBe('set over ssh');
    const status = await server('status', app);
    expect(status.stdout).toMatch(new RegExp(`^web\\s+${REGISTRY}/${app}-web:[0-9a-f]{40}@sha256:`, 'm'));
    const refused = await server('destroy', 'deployer', '--confirm', 'deployer');
    expect(refused.stderr).toBe('swarmlet: deployer is a core app of the platform: it cannot be destroyed');
    expect(refused.exitCode).toBe(1);
    expect(await served('installed and pushed\n')).toBe('installed and pushed\n');
  }, 600_000);

  it('redeploys the registry with a new Host rule from a push of the registry repository', async () => {
    const clone = join(work, 'registry');
    const cloned = await gitIn(work, ['clone', `ssh://git@127.0.0.1:${String(SSH_PORT)}/registry`, clone], sshEnv());
    expect(cloned.exitCode).toBe(0);
    writeFileSync(
      join(clone, '.env'),
      readFileSync(join(clone, '.env'), 'utf8').replace(/^DOMAIN=.*$/m, 'DOMAIN=example.org'),
    );
    await gitIn(clone, ['commit', '--quiet', '-am', 'registry.example.org']);
    const push = await gitIn(clone, ['push', 'origin', 'master'], sshEnv());
    expect(push.all).toContain('remote: -----> Deployed registry');
    expect(push.exitCode).toBe(0);
    const service = (await engine().getService('registry_registry').inspect()) as {
      Spec: { Labels: Record<string, string> };
    };
    expect(service.Spec.Labels['traefik.http.routers.registry.rule']).toBe('Host(`registry.example.org`)');
    await waitFor('the registry to answer again', async () =>
      (await catalog().catch(() => undefined))?.includes(`${app}-web`) ? true : undefined,
    );
  }, 600_000);

  it('runs a second time without breaking anything or losing data', async () => {
    const again = await install(...installArgs);
    expect(again.all).toContain('the key is already authorized');
    expect(again.exitCode).toBe(0);
    expect(await registryPortJumps()).toHaveLength(1);
    expect(await served('installed and pushed\n')).toBe('installed and pushed\n');
    expect(await catalog()).toContain(`${app}-web`);
    const listed = await gitIn(
      work,
      ['ls-remote', `ssh://git@127.0.0.1:${String(SSH_PORT)}/${app}`, 'refs/heads/master'],
      sshEnv(),
    );
    expect(listed.stdout).toMatch(/^[0-9a-f]{40}\trefs\/heads\/master$/);
    expect((await dockerLogin(password)).all).toContain('Login Succeeded');
  }, 1_200_000);

  it('uninstalls: no service, secret, network or label of ours is left, and the data volumes stay', async () => {
    const result = await install('--uninstall');
    expect(result.exitCode).toBe(0);
    const services = await engine().listServices();
    expect(
      services.map((service) => service.Spec?.Name).filter((name) => /^(router|registry|deployer)_/.test(name ?? '')),
    ).toEqual([]);
    const secrets = await engine().listSecrets();
    const ours = ['swarmlet-registry-htpasswd', 'swarmlet-registry-password', 'swarmlet-agent-token'];
    expect(secrets.map((secret) => secret.Spec?.Name).filter((name) => ours.includes(name ?? ''))).toEqual([]);
    expect(await engine().listNetworks({ filters: { name: ['traefik-public'] } })).toEqual([]);
    const labels = (
      (await engine()
        .getNode(await nodeId())
        .inspect()) as {
        Spec: { Labels: Record<string, string> };
      }
    ).Spec.Labels;
    expect(Object.keys(labels).filter((name) => name.startsWith('swarmlet.'))).toEqual([]);
    for (const volume of VOLUMES) expect((await engine().getVolume(volume).inspect()).Name).toBe(volume);
    expect(existsSync(COMMAND)).toBe(false);
    expect(await registryPortJumps()).toEqual([]);
    expect((await execa('iptables', ['-w', '-S', FIREWALL_CHAIN], { reject: false })).exitCode).not.toBe(0);
    expect(existsSync(FIREWALL)).toBe(false);
  }, 600_000);
});
