import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import {
  askOverNetwork,
  ensureStandInImage,
  removeStack,
  repoRoot,
  requireEngine,
  waitFor,
} from '../support/docker.js';
import { commitFiles } from '../support/git.js';
import { startLocalPlatform, TEST_ROUTER_NETWORK, type LocalPlatform } from '../support/platform.js';

const FIXTURES = join(repoRoot, 'test/e2e/fixtures/hostile/compose');

/** What the push of each hostile compose file must be refused with: the field after `service web: ` or the top-level field. */
const REFUSED: Record<string, string[]> = {
  'socket.yml': ['service web: volumes[0]: bind mount of /var/run/docker.sock (the Docker socket)'],
  'host-path.yml': ['service web: volumes[0]: bind mount of /etc (a path outside the repository)'],
  'relative-escape.yml': [
    'service web: volumes[0]: bind mount of ../../../../../../../.. (a path outside the repository: /)',
  ],
  'symlink-escape.yml': ['service web: volumes[0]: bind mount of ./escape (a path outside the repository: /)'],
  'privileged.yml': ['service web: privileged: privileged: true'],
  'cap-add.yml': ['service web: cap_add: cap_add (SYS_ADMIN)'],
  'devices.yml': ['service web: devices: devices (/dev/fuse:/dev/fuse)'],
  'pid-host.yml': ['service web: pid: pid: host'],
  'ipc-host.yml': ['service web: ipc: ipc: host'],
  'network-mode-host.yml': ['service web: network_mode: network_mode: host'],
  'host-network.yml': ["service web: networks.hostnet: the host's network"],
  'platform-secret.yml': [
    "secrets.token: the platform's secret swarmlet-agent-token",
    "configs.password: the platform's config swarmlet-registry-password",
  ],
  'secret-file.yml': ['secrets.stolen.file: ../../../../../../../../etc/hostname (a path outside the repository'],
  'env-file.yml': ['service web: env_file[0]: /etc/hostname (a path outside the repository)'],
  'router-platform.yml': [
    'service web: deploy.labels.traefik.http.routers.steal.rule: a router for registry.localhost, which the platform (registry) routes,',
  ],
  'router-other-app.yml': [
    'service web: labels.traefik.http.routers.steal.rule: a router for VICTIM, which app VICTIM_APP routes,',
  ],
  'host-regexp.yml': ['service web: deploy.labels.traefik.http.routers.all.rule: a HostRegexp rule'],
};

const VICTIM_COMPOSE = `services:
  web:
    build: .
    command: ["sh", "-c", "mkdir -p /www && echo victim serves > /www/index.html && exec httpd -f -p 8080 -h /www"]
    expose: ["8080"]
    deploy:
      labels:
        traefik.enable: "true"
        traefik.http.routers.victim-${process.pid}.rule: Host(\`\${APP_NAME}.\${ROOT_DOMAIN}\`)
        traefik.http.services.victim-${process.pid}.loadbalancer.server.port: "8080"
`;

interface ServiceInfo {
  Version: { Index: number };
  Spec: {
    Labels: Record<string, string>;
    TaskTemplate: { ContainerSpec: { Image: string }; Networks?: { Target: string }[] };
  };
}

/**
 * The compose policy for untrusted apps and the `domains` verbs, end to end: real ssh and git against `swarmlet up`.
 * Every hostile compose file of `fixtures/hostile/compose` is pushed and refused with its file, service and field
 * named, and nothing of it is deployed; `apps trust` lets the privileged one deploy and `apps untrust` refuses it
 * again. `domains add|remove` route a second host to a deployed app without a rebuild, and refuse hosts others hold.
 */
describe('the compose policy and domains', () => {
  const work = mkdtempSync(join(tmpdir(), 'swarmlet-policy-'));
  const victim = `victim-${process.pid}`;
  const hostile = `hostile-${process.pid}`;
  const second = `second-${process.pid}.localhost`;
  const victimRepo = join(work, 'victim');
  const hostileRepo = join(work, 'hostile');
  let docker: Docker;
  let platform: LocalPlatform;

  const ssh = (...args: string[]) => platform.ssh(args);
  const service = async (app: string): Promise<ServiceInfo | undefined> =>
    (await docker
      .getService(`${app}_web`)
      .inspect()
      .catch(() => undefined)) as ServiceInfo | undefined;
  const stackServices = async (app: string) =>
    docker.listServices({ filters: { label: [`com.docker.stack.namespace=${app}`] } });
  const settingsFile = (app: string) => join(platform.env.SWARMLET_DATA_DIR ?? '', 'deployer', 'apps', `${app}.json`);
  const readSettings = (app: string) => {
    try {
      return readFileSync(settingsFile(app), 'utf8');
    } catch {
      return '';
    }
  };
  const pushHostile = async (fixture: string) => {
    await commitFiles(hostileRepo, { 'docker-compose.yml': readFileSync(join(FIXTURES, fixture), 'utf8') }, fixture);
    return platform.git(hostileRepo, 'push', 'swarmlet', 'master');
  };

  beforeAll(async () => {
    docker = await requireEngine();
    await ensureStandInImage(docker, 'busybox');
    platform = await startLocalPlatform(work);
    await platform.initRepository(victimRepo, victim);
    await commitFiles(victimRepo, { Dockerfile: 'FROM busybox\n', 'docker-compose.yml': VICTIM_COMPOSE }, 'victim');
    const pushed = await platform.git(victimRepo, 'push', 'swarmlet', 'master');
    if (pushed.exitCode !== 0) throw new Error(`the victim's push failed: ${pushed.all}`);
    await platform.initRepository(hostileRepo, hostile);
    symlinkSync('/', join(hostileRepo, 'escape'));
    await commitFiles(
      hostileRepo,
      { Dockerfile: 'FROM busybox\n', '.dockerignore': 'escape\n', '.env': `VICTIM_HOST=${victim}.localhost\n` },
      'base',
    );
  }, 300_000);

  afterAll(async () => {
    await platform.stop();
    for (const app of [victim, hostile]) await removeStack(docker, app, `swarmlet.app=${app}`);
    rmSync(work, { recursive: true, force: true });
  }, 180_000);

  it('refuses every hostile compose file, naming file, service and field, and deploys nothing of it', async () => {
    expect(readdirSync(FIXTURES).sort()).toEqual(Object.keys(REFUSED).sort());
    for (const [fixture, expected] of Object.entries(REFUSED)) {
      const pushed = await pushHostile(fixture);
      expect({ fixture, exitCode: pushed.exitCode }).toEqual({ fixture, exitCode: 1 });
      for (const field of expected) {
        const line = field.replace('VICTIM_APP', victim).replace('VICTIM', `${victim}.localhost`);
        expect(pushed.all).toContain(`policy: docker-compose.yml: ${line}`);
      }
      expect(pushed.all).toContain(`is not allowed for an untrusted app (an admin can run \`apps trust ${hostile}\`)`);
      expect(pushed.all).not.toContain('-----> build');
      expect(await stackServices(hostile)).toEqual([]);
    }
    const deploys = JSON.parse((await ssh('deploys', hostile, '--json')).stdout) as { status: string }[];
    expect(deploys.map((record) => record.status)).toEqual(Object.keys(REFUSED).map(() => 'failed'));
  }, 600_000);

  it('apps trust lifts the policy for the next deploys and untrust restores it; status says which applies', async () => {
    const before = await ssh('status', hostile);
    expect(before.stdout).toContain('policy     untrusted (compose policy applies)');
    expect(JSON.parse((await ssh('status', hostile, '--json')).stdout)).toMatchObject({ policy: 'untrusted' });
    const trust = await ssh('apps', 'trust', hostile);
    expect(trust.exitCode).toBe(0);
    expect(trust.stdout).toContain(`${hostile} is trusted`);
    expect((await ssh('status', hostile)).stdout).toContain('policy     trusted');
    const deployed = await pushHostile('privileged.yml');
    expect(deployed.exitCode).toBe(0);
    expect(deployed.all).not.toContain('policy:');
    const running = await service(hostile);
    expect(running?.Spec.Labels['traefik.http.routers.hostile-trusted.rule']).toBe(`Host(\`${hostile}.localhost\`)`);

    const untrust = await ssh('apps', 'untrust', hostile);
    expect(untrust.exitCode).toBe(0);
    expect(JSON.parse((await ssh('status', hostile, '--json')).stdout)).toMatchObject({ policy: 'untrusted' });
    await commitFiles(hostileRepo, { 'changed.txt': 'x\n' }, 'changed');
    const refused = await platform.git(hostileRepo, 'push', 'swarmlet', 'master');
    expect(refused.exitCode).toBe(1);
    expect(refused.all).toContain(
      'policy: docker-compose.yml: service web: privileged: privileged: true is not allowed',
    );
    expect((await service(hostile))?.Version.Index).toBe(running?.Version.Index);
  }, 300_000);

  it('core apps are always trusted', async () => {
    expect((await ssh('status', 'registry')).stdout).toContain('policy     trusted (core app)');
    const refused = await ssh('apps', 'untrust', 'registry');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('registry is a core app of the platform: it is always trusted');
  }, 60_000);

  it('domains add routes a second host without a rebuild, domains lists both, domains remove takes it off', async () => {
    const { Id: routerNetwork } = (await docker.getNetwork(TEST_ROUTER_NETWORK).inspect()) as { Id: string };
    const networksOf = async () => ((await service(victim))?.Spec.TaskTemplate.Networks ?? []).map((n) => n.Target);
    const before = await service(victim);
    const image = before?.Spec.TaskTemplate.ContainerSpec.Image;
    // The victim's compose file routes it by labels alone, without joining the router's network.
    expect(await networksOf()).not.toContain(routerNetwork);
    const added = await ssh('domains', 'add', victim, second);
    expect(added.exitCode).toBe(0);
    expect(added.stdout).toContain(`domains of ${victim}: added ${second} (service web)`);
    expect(added.stdout).toContain('reusing the images already built');
    expect(added.stdout).not.toContain('-----> build');
    const after = await service(victim);
    expect(after?.Spec.TaskTemplate.ContainerSpec.Image).toBe(image);
    const labels = after?.Spec.Labels ?? {};
    const router = Object.keys(labels).find((key) => labels[key] === `Host(\`${second}\`)`) ?? '';
    expect(router).toMatch(/^traefik\.http\.routers\.swarmlet-domain-[\w-]+\.rule$/);
    const name = router.split('.')[3] ?? '';
    expect(labels).toMatchObject({
      [`traefik.http.routers.${name}.entrypoints`]: 'websecure',
      [`traefik.http.routers.${name}.tls.certresolver`]: 'letsencrypt',
      [`traefik.http.services.${name}.loadbalancer.server.port`]: '8080',
      [`traefik.http.routers.victim-${process.pid}.rule`]: `Host(\`${victim}.localhost\`)`,
      'traefik.swarm.network': TEST_ROUTER_NETWORK,
    });
    expect(await networksOf()).toContain(routerNetwork);
    await waitFor(`${victim} to answer over ${TEST_ROUTER_NETWORK}`, async () =>
      (await askOverNetwork(TEST_ROUTER_NETWORK, `${victim}_web`, 8080)).includes('victim serves') ? true : undefined,
    );
    const listed = await ssh('domains', victim);
    expect(listed.exitCode).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^HOST\\s+SERVICE\\s+SOURCE$`, 'm'));
    expect(listed.stdout).toMatch(new RegExp(`^${victim}\\.localhost\\s+web\\s+compose label$`, 'm'));
    expect(listed.stdout).toMatch(new RegExp(`^${second}\\s+web\\s+domains add$`, 'm'));
    expect(JSON.parse((await ssh('domains', victim, '--json')).stdout)).toEqual([
      { host: `${victim}.localhost`, service: 'web', source: 'compose' },
      { host: second, service: 'web', source: 'domains add' },
    ]);

    const removed = await ssh('domains', 'remove', victim, second);
    expect(removed.exitCode).toBe(0);
    expect(Object.values((await service(victim))?.Spec.Labels ?? {})).not.toContain(`Host(\`${second}\`)`);
    expect(await networksOf()).not.toContain(routerNetwork);
    expect(JSON.parse((await ssh('domains', victim, '--json')).stdout)).toEqual([
      { host: `${victim}.localhost`, service: 'web', source: 'compose' },
    ]);
  }, 300_000);

  it('refuses hosts the platform or another app routes and malformed ones, changing nothing', async () => {
    const settings = readSettings(victim);
    const version = (await service(victim))?.Version.Index;
    const cases: [string, RegExp][] = [
      [
        'registry.localhost',
        /^swarmlet: registry\.localhost is routed by the platform \(registry\): it cannot be added to /m,
      ],
      [
        `${hostile}.localhost`,
        new RegExp(`^swarmlet: ${hostile}\\.localhost is routed by app ${hostile}: it cannot`, 'm'),
      ],
      ['bad_host.test', /^swarmlet: invalid host name "bad_host\.test": each part holds letters/m],
      ['nodot', /^swarmlet: invalid host name "nodot": give a full name/m],
    ];
    for (const [host, message] of cases) {
      const refused = await ssh('domains', 'add', victim, host);
      expect({ host, exitCode: refused.exitCode }).toEqual({ host, exitCode: 1 });
      expect(refused.stderr).toMatch(message);
    }
    const noPort = await ssh('domains', 'add', victim, `third-${process.pid}.localhost`, '--port', 'x');
    expect(noPort.exitCode).toBe(2);
    expect(readSettings(victim)).toBe(settings);
    expect((await service(victim))?.Version.Index).toBe(version);
  }, 120_000);
});
