import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { askOverNetwork, ensureStandInImage, removeStack, requireEngine, waitFor } from '../support/docker.js';
import { commitFiles } from '../support/git.js';
import { startLocalPlatform, TEST_ROUTER_NETWORK, type LocalPlatform } from '../support/platform.js';

interface WebService {
  Spec: {
    Labels: Record<string, string>;
    TaskTemplate: { ContainerSpec: { Image: string; Env?: string[] }; Networks?: { Target: string }[] };
    Mode: { Replicated?: { Replicas: number } };
    UpdateConfig?: { Order: string; FailureAction: string };
  };
}

const NETWORK = TEST_ROUTER_NETWORK;

/**
 * Zero-config deploys end to end: repositories with a Dockerfile and no compose file pushed with the real git and
 * OpenSSH clients to `swarmlet up`. Traefik cannot run here, so routes are checked by reading the service's labels
 * and by asking the service over the router's network from a container, as Traefik would reach it.
 */
describe('a repository with only a Dockerfile', () => {
  const work = mkdtempSync(join(tmpdir(), 'swarmlet-zero-config-'));
  const apps = { exposed: `zero-${process.pid}`, portless: `portless-${process.pid}`, empty: `empty-${process.pid}` };
  let docker: Docker;
  let platform: LocalPlatform;

  const service = async (app: string) => (await docker.getService(`${app}_web`).inspect()) as WebService;
  /** What the web service of `app` answers on `port`, asked from a container on the router's network. */
  const askOverRouterNetwork = (app: string, port: number) => askOverNetwork(NETWORK, `${app}_web`, port);
  const repository = async (app: string, files: Record<string, string>) => {
    const dir = join(work, app);
    await platform.initRepository(dir, app);
    await commitFiles(dir, files, 'first');
    return dir;
  };

  beforeAll(async () => {
    docker = await requireEngine();
    await ensureStandInImage(docker, 'busybox');
    platform = await startLocalPlatform(work);
  }, 180_000);

  afterAll(async () => {
    await platform.stop();
    for (const app of Object.values(apps)) await removeStack(docker, app, `swarmlet.app=${app}`);
    rmSync(work, { recursive: true, force: true });
  }, 180_000);

  it('deploys as the service web, routed at APP.ROOT_DOMAIN over HTTPS to the port it EXPOSEs', async () => {
    const app = apps.exposed;
    const repo = await repository(app, {
      Dockerfile:
        'FROM busybox\nCOPY index.html /www/index.html\nEXPOSE 8080 9000\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n',
      'index.html': 'zero config\n',
      '.env': 'GREETING=hello from dotenv\n',
    });
    const pushed = await platform.git(repo, 'push', 'swarmlet', 'master');
    expect(pushed.all).toContain('no compose file: deploying Dockerfile as the service web');
    expect(pushed.all).toContain('routing web to port 8080 (EXPOSE in Dockerfile)');
    expect(pushed.all).toContain('traefik.http.routers.' + app + '.rule: Host(`' + app + '.${ROOT_DOMAIN}`)');
    expect(pushed.all).toContain(`no router runs here, so https://${app}.localhost cannot answer`);
    expect(pushed.exitCode).toBe(0);

    const { Spec } = await service(app);
    expect(Spec.Labels).toMatchObject({
      'traefik.enable': 'true',
      [`traefik.http.routers.${app}.rule`]: `Host(\`${app}.localhost\`)`,
      [`traefik.http.routers.${app}.entrypoints`]: 'websecure',
      [`traefik.http.routers.${app}.tls.certresolver`]: 'letsencrypt',
      [`traefik.http.services.${app}.loadbalancer.server.port`]: '8080',
      'swarmlet.app': app,
    });
    expect(Spec.Mode.Replicated?.Replicas).toBe(1);
    expect(Spec.UpdateConfig).toMatchObject({ Order: 'start-first', FailureAction: 'rollback' });
    expect(Spec.TaskTemplate.ContainerSpec.Image).toMatch(new RegExp(`/${app}:[0-9a-f]{40}@sha256:`));
    const env = Spec.TaskTemplate.ContainerSpec.Env ?? [];
    expect(env).toEqual(expect.arrayContaining(['GREETING=hello from dotenv', `APP_NAME=${app}`]));
    expect(env.some((entry) => entry.startsWith('PATH='))).toBe(false);
    const { Id } = (await docker.getNetwork(NETWORK).inspect()) as { Id: string };
    expect(Spec.TaskTemplate.Networks?.map((network) => network.Target)).toContain(Id);
    await waitFor(`${app} to answer over ${NETWORK}`, async () =>
      (await askOverRouterNetwork(app, 8080)).includes('zero config') ? true : undefined,
    );

    const [record] = JSON.parse((await platform.ssh(['deploys', app, '--json'])).stdout) as { id: string }[];
    const shown = await platform.ssh(['deploys', app, record?.id ?? '']);
    expect(shown.stdout).toContain('the compose file made for Dockerfile (commit it as docker-compose.yml');
    expect(shown.stdout).toContain('image: ${SWARMLET_REGISTRY}/' + app);
  }, 300_000);

  it('routes to PORT from `config set` when the Dockerfile EXPOSEs nothing; without either, names both ways', async () => {
    const app = apps.portless;
    const repo = await repository(app, {
      Dockerfile: 'FROM busybox\nCOPY index.html /www/index.html\nCMD httpd -f -p "$PORT" -h /www\n',
      'index.html': 'port from config\n',
    });
    const refused = await platform.git(repo, 'push', 'swarmlet', 'master');
    expect(refused.exitCode).not.toBe(0);
    expect(refused.all).toContain(
      `no port to route ${app}'s web service to: the image EXPOSEs none and PORT is not set; add EXPOSE <port> to the Dockerfile, or run \`config set ${app} PORT=<port>\``,
    );
    await expect(docker.getService(`${app}_web`).inspect()).rejects.toMatchObject({ statusCode: 404 });

    const set = await platform.ssh(['config', 'set', app, 'PORT=9090', '--no-deploy']);
    expect(set.exitCode).toBe(0);
    await commitFiles(repo, { 'index.html': 'port from config\n\n' }, 'again');
    const pushed = await platform.git(repo, 'push', 'swarmlet', 'master');
    expect(pushed.all).toContain('routing web to port 9090 (PORT from config)');
    expect(pushed.exitCode).toBe(0);
    const { Spec } = await service(app);
    expect(Spec.Labels[`traefik.http.services.${app}.loadbalancer.server.port`]).toBe('9090');
    await waitFor(`${app} to answer on 9090`, async () =>
      (await askOverRouterNetwork(app, 9090)).includes('port from config') ? true : undefined,
    );
  }, 300_000);

  it('a repository with neither a compose file nor a Dockerfile is refused, naming both ways to deploy', async () => {
    const repo = await repository(apps.empty, { 'README.md': 'nothing to run\n' });
    const refused = await platform.git(repo, 'push', 'swarmlet', 'master');
    expect(refused.exitCode).not.toBe(0);
    expect(refused.all).toMatch(
      /the repository has no compose file \(compose\.yaml.*\) and no Dockerfile; add a Dockerfile/,
    );
  }, 120_000);
});
