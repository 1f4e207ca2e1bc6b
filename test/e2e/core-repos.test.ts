import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { execa, type ResultPromise } from 'execa';
import {
  buildProjectImage,
  ensureStandInImage,
  freePort,
  repoRoot,
  requireEngine,
  waitFor,
} from '../support/docker.js';
import { gitIn } from '../support/git.js';
import { writeHtpasswd } from '../support/registries.js';
import { lockCoreSwarm } from '../support/swarm-lock.js';

/**
 * The core stacks as repositories, as a user meets them on the platform `swarmlet up` runs: `git clone` of the
 * seeded `registry` repository, a `DOMAIN` change in its `.env`, `git push`, and the registry stack is redeployed
 * with the new Traefik rule. The registry image is built from the repository on the stand-in base; this machine
 * has no routing mesh, so the platform tells deploys SWARMLET_PUBLISH_MODE=host.
 */
describe('the registry core repository', () => {
  const suffix = `${process.pid}-${Date.now()}`;
  const version = `core-${suffix}`;
  const secret = `swarmlet-test-core-htpasswd-${suffix}`;
  const network = `swarmlet-test-core-traefik-${process.pid}`;
  const work = mkdtempSync(join(tmpdir(), 'swarmlet-core-repos-'));
  const key = join(work, 'id_ed25519');
  const clone = join(work, 'registry');
  let docker: Docker | undefined;
  let platform: ResultPromise | undefined;
  let releaseLock: (() => void) | undefined;
  let nodeId = '';
  let sshPort = 0;
  let registryPort = 0;

  const git = (...args: string[]) =>
    gitIn(clone, args, {
      GIT_SSH_COMMAND: `ssh -i ${key} -p ${sshPort} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR`,
    });

  const engine = (): Docker => {
    if (!docker) throw new Error('the Docker engine was not reached in beforeAll');
    return docker;
  };

  const routerRule = async (): Promise<string | undefined> => {
    const service = (await engine().getService('registry_registry').inspect()) as {
      Spec: { Labels: Record<string, string> };
    };
    return service.Spec.Labels['traefik.http.routers.registry.rule'];
  };

  const setEnv = (values: Record<string, string>): void => {
    const path = join(clone, '.env');
    const kept = readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => line !== '' && !Object.keys(values).some((name) => line.startsWith(`${name}=`)));
    writeFileSync(path, [...kept, ...Object.entries(values).map(([name, value]) => `${name}=${value}`), ''].join('\n'));
  };

  beforeAll(async () => {
    releaseLock = await lockCoreSwarm();
    docker = await requireEngine();
    nodeId = ((await docker.info()) as { Swarm: { NodeID: string } }).Swarm.NodeID;
    await ensureStandInImage(docker, 'node');
    await buildProjectImage({
      dockerfile: 'registry',
      tag: `swarmlet.invalid/registry:${version}`,
      label: 'swarmlet.test=true',
    });
    const htpasswd = writeHtpasswd(join(work, 'htpasswd'), { admin: `pw-${suffix}` });
    await execa('docker', ['secret', 'create', '--label', 'swarmlet.test=true', secret, htpasswd]);
    await execa('docker', [
      'network',
      'create',
      '--driver',
      'overlay',
      '--attachable',
      '--label',
      'swarmlet.test=true',
      network,
    ]);
    await execa('docker', ['node', 'update', '--label-add', 'swarmlet.registry=true', nodeId]);
    [sshPort, registryPort] = [await freePort(), await freePort()];
    const [localRegistryPort, agentPort] = [await freePort(), await freePort()];
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'operator', '-f', key]);
    await execa('cp', [`${key}.pub`, join(work, 'authorized_keys')]);
    platform = execa('node', [join(repoRoot, 'packages/cli/dist/main.js'), 'up'], {
      env: {
        SWARMLET_DATA_DIR: join(work, 'data'),
        SWARMLET_REGISTRY_PORT: String(localRegistryPort),
        SWARMLET_AGENT_PORT: String(agentPort),
        SWARMLET_SSH_PORT: String(sshPort),
        SWARMLET_AUTHORIZED_KEYS: join(work, 'authorized_keys'),
        SWARMLET_VERSION: version,
        SWARMLET_PUBLISH_MODE: 'host',
        TRAEFIK_NETWORK: network,
      },
      reject: false,
      all: true,
    });
    await waitFor('the agent to answer', async () =>
      (await fetch(`http://127.0.0.1:${agentPort}/health`).catch(() => undefined))?.ok ? true : undefined,
    );
    await waitFor('the receiver to accept git', async () =>
      (await execa('ssh-keyscan', ['-p', String(sshPort), '127.0.0.1'], { reject: false })).stdout ? true : undefined,
    );
  }, 2_400_000);

  afterAll(async () => {
    platform?.kill('SIGINT');
    await platform;
    await execa('docker', ['stack', 'rm', 'registry'], { reject: false });
    if (docker) {
      const engine = docker;
      await waitFor(
        'the registry stack to be gone',
        async () => {
          const left = await engine.listContainers({
            all: true,
            filters: { label: ['com.docker.stack.namespace=registry'] },
          });
          return left.length === 0 ? true : undefined;
        },
        { timeoutMs: 60_000 },
      ).catch(() => undefined);
      await waitFor(
        'the volume and network to be removable',
        async () => {
          await engine.getVolume('registry_registry-data').remove().catch(ignoreMissing);
          await engine.getNetwork(network).remove().catch(ignoreMissing);
          return true;
        },
        { timeoutMs: 30_000 },
      ).catch(() => undefined);
      await engine
        .getImage(`swarmlet.invalid/registry:${version}`)
        .remove({ force: true })
        .catch(() => undefined);
    }
    await execa('docker', ['secret', 'rm', secret], { reject: false });
    await execa('docker', ['node', 'update', '--label-rm', 'swarmlet.registry', nodeId], { reject: false });
    rmSync(work, { recursive: true, force: true });
    releaseLock?.();
  }, 180_000);

  it('is seeded from stacks/registry and can be cloned', async () => {
    const cloned = await gitIn(work, ['clone', `ssh://git@127.0.0.1:${sshPort}/registry`, clone], {
      GIT_SSH_COMMAND: `ssh -i ${key} -p ${sshPort} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR`,
    });
    expect(cloned.exitCode).toBe(0);
    expect(readdirSync(clone).sort()).toEqual(
      readdirSync(join(repoRoot, 'stacks', 'registry'))
        .concat('.git')
        .sort(),
    );
    expect(readFileSync(join(clone, 'docker-compose.yml'), 'utf8')).toBe(
      readFileSync(join(repoRoot, 'stacks', 'registry', 'docker-compose.yml'), 'utf8'),
    );
  });

  it('redeploys the registry with the Traefik rule for the DOMAIN pushed in .env', async () => {
    setEnv({
      DOMAIN: 'example.test',
      REGISTRY_PUBLISHED_PORT: String(registryPort),
      REGISTRY_HTPASSWD_SECRET: secret,
    });
    await git('commit', '--quiet', '-am', 'registry at registry.example.test');
    const first = await git('push', 'origin', 'master');
    expect(first.all).toContain('remote: -----> Deployed registry');
    expect(first.exitCode).toBe(0);
    expect(await routerRule()).toBe('Host(`registry.example.test`)');
    const answer = await waitFor('the registry to answer on its published port', async () => {
      const response = await fetch(`http://127.0.0.1:${registryPort}/v2/`).catch(() => undefined);
      return response?.status;
    });
    expect(answer).toBe(401);

    setEnv({ DOMAIN: 'other.test' });
    await git('commit', '--quiet', '-am', 'registry at registry.other.test');
    const second = await git('push', 'origin', 'master');
    expect(second.exitCode).toBe(0);
    expect(await routerRule()).toBe('Host(`registry.other.test`)');
  }, 600_000);
});

function ignoreMissing(error: unknown): void {
  if ((error as { statusCode?: number }).statusCode !== 404) throw error;
}
