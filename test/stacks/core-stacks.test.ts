import { join } from 'node:path';
import { assembleEnvironment, loadCompose } from '@swarmlet/deployer';
import { loadRegistryConfig } from '@swarmlet/registry';
import { execa } from 'execa';
import { repoRoot } from '../support/docker.js';

const PLATFORM = {
  rootDomain: 'example.test',
  username: 'admin',
  email: 'ops@example.test',
  traefikNetwork: 'traefik-public',
  version: '0.1.0',
  publishMode: 'ingress' as const,
  branch: 'master',
  commit: '0'.repeat(40),
};

interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: { mode?: string; published?: number | string }[];
  deploy?: {
    labels?: Record<string, string>;
    update_config?: { order?: string };
    placement?: { constraints?: string[] };
  };
  networks?: unknown;
}

/** A core stack as a push of its seeded repository reads it: the platform's variables, then its `.env`. */
async function coreStack(name: string) {
  const tree = join(repoRoot, 'stacks', name);
  const { env } = await assembleEnvironment(
    tree,
    { ...PLATFORM, app: name },
    { timeoutMs: 20_000, onLine: () => undefined },
  );
  const { compose } = await loadCompose(tree, env);
  const rendered = await execa('docker', ['stack', 'config', '-c', 'docker-compose.yml'], {
    cwd: tree,
    env,
    extendEnv: false,
  });
  return { env, services: compose.services as Record<string, Service>, rendered: rendered.stdout };
}

/**
 * The router and deployer stacks cannot all run here (Traefik cannot be pulled), so their compose files are read
 * the way the deployer reads a pushed core repository, and rendered by the real docker CLI.
 */
describe('the core stacks', () => {
  it('router: Traefik v3 with HTTPS redirect, Let’s Encrypt, the swarm provider, no body time-out, an authenticated dashboard', async () => {
    const { services, rendered } = await coreStack('router');
    const traefik = services.traefik;
    expect(traefik?.image).toMatch(/^traefik:v3\./);
    expect(traefik?.command).toEqual(
      expect.arrayContaining([
        '--providers.swarm=true',
        '--providers.swarm.exposedByDefault=false',
        '--providers.swarm.network=traefik-public',
        '--entryPoints.web.http.redirections.entryPoint.to=websecure',
        '--entryPoints.web.http.redirections.entryPoint.scheme=https',
        '--entryPoints.websecure.transport.respondingTimeouts.readTimeout=0',
        '--certificatesResolvers.letsencrypt.acme.email=ops@example.test',
      ]),
    );
    expect(traefik?.deploy?.labels).toMatchObject({
      'swarmlet.managed': 'true',
      'swarmlet.app': 'router',
      'traefik.http.routers.dashboard.rule': 'Host(`traefik.example.test`)',
      'traefik.http.routers.dashboard.middlewares': 'dashboard-auth',
      'traefik.http.middlewares.dashboard-auth.basicauth.usersfile': '/run/secrets/dashboard-users',
      'traefik.http.routers.dashboard.tls.certresolver': 'letsencrypt',
    });
    expect(JSON.stringify(traefik?.deploy?.labels)).not.toMatch(/\$2[aby]\$/);
    expect(traefik?.ports?.map((port) => [port.published, port.mode])).toEqual([
      [80, 'ingress'],
      [443, 'ingress'],
    ]);
    expect(traefik?.deploy?.placement?.constraints).toContain('node.role == manager');
    expect(rendered).toContain('Host(`traefik.example.test`)');
  });

  it('deployer: the agent and receiver on the host network, start-first, pinned to the labelled manager', async () => {
    const { services, rendered } = await coreStack('deployer');
    const deployer = services.deployer;
    expect(deployer?.image).toBe('swarmlet.invalid/deployer:0.1.0');
    expect(deployer?.deploy?.update_config?.order).toBe('start-first');
    expect(deployer?.deploy?.placement?.constraints).toEqual([
      'node.role == manager',
      'node.labels.swarmlet.deployer == true',
    ]);
    expect(deployer?.environment).toMatchObject({
      SWARMLET_SSH_PORT: '2222',
      ROOT_DOMAIN: 'example.test',
      SWARMLET_REGISTRY_USERNAME: 'admin',
      SWARMLET_REGISTRY_PASSWORD_FILE: '/run/secrets/registry-password',
    });
    expect(Object.keys(deployer?.environment ?? {}).some((name) => /PASSWORD$|TOKEN$/.test(name))).toBe(false);
    expect(rendered).toMatch(/name: host/);
  });

  it('registry: the DOMAIN of its .env decides the Host rule', async () => {
    const { services } = await coreStack('registry');
    expect(services.registry?.deploy?.labels?.['traefik.http.routers.registry.rule']).toBe(
      'Host(`registry.example.test`)',
    );
  });

  it('registry: runs its scheduled garbage collection by default, untagged manifests included', async () => {
    const { services } = await coreStack('registry');
    const config = loadRegistryConfig(undefined, services.registry?.environment ?? {});
    expect(config.storage.delete.enabled).toBe(true);
    expect(config.storage.maintenance.garbagecollect).toMatchObject({
      enabled: true,
      interval: 24 * 3_600_000,
      deleteuntagged: true,
      dryrun: false,
      grace: 3_600_000,
    });
  });
});
