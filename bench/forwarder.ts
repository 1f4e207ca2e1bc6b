import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import Docker from 'dockerode';
import { buildProjectImage, ensureStandInImage, repoRoot, waitFor } from '../test/support/docker.js';
import { startTwoNodeSwarm, type SwarmNode } from '../test/support/two-node-swarm.js';
import { seconds } from './measure.js';

const ROUNDS = process.argv.includes('--quick') ? 1 : 3;
const BLOB_MIB = process.argv.includes('--quick') ? 64 : 256;
const VERSION = 'bench';
const USER = 'bench';
const PASSWORD = `bench-${String(process.pid)}`;
const IMAGE = `127.0.0.1:5000/bench/blob:${String(BLOB_MIB)}m`;

/** `docker pull IMAGE` on `node` with the bench's login, after removing the image there; seconds it took. */
async function timedPull(node: SwarmNode, config: string): Promise<number> {
  await node.run('docker', ['rmi', '--force', IMAGE], { reject: false });
  return seconds(() => node.run('docker', ['--config', config, 'pull', '--quiet', IMAGE]));
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

/**
 * Image pulls on a real two-node swarm (test/support/two-node-swarm.ts) with the registry and forwarder stacks as
 * install.sh deploys them in host publish mode: a single-layer image of BLOB_MIB MiB of random bytes is pulled on
 * the registry's node (straight from 127.0.0.1:5000) and on the other node (through the forwarder and the overlay
 * network), alternately, ROUNDS times each. Prints the median of each in MiB/s and the ratio forwarder / direct.
 */
async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the forwarder benchmark needs root: it starts a two-node swarm');
  const docker = new Docker({ socketPath: '/var/run/docker.sock' });
  const busybox = await ensureStandInImage(docker, 'busybox');
  await ensureStandInImage(docker, 'node');
  const images = [
    await buildProjectImage({ dockerfile: 'registry', tag: `swarmlet.invalid/registry:${VERSION}` }),
    await buildProjectImage({
      dockerfile: 'registry',
      target: 'forwarder',
      tag: `swarmlet.invalid/forwarder:${VERSION}`,
    }),
  ];
  const work = mkdtempSync(join(tmpdir(), 'swl-bench-fw-'));
  const swarm = await startTwoNodeSwarm(join(work, 'swarm'));
  try {
    const { manager, worker } = swarm;
    await swarm.load([...images, busybox], [manager]);
    await swarm.load([images[1] ?? ''], [worker]);
    const managerId = ((await manager.docker.info()) as { Swarm: { NodeID: string } }).Swarm.NodeID;
    await manager.run('docker', ['node', 'update', '--label-add', 'swarmlet.registry=true', managerId]);
    await manager.run('docker', ['network', 'create', '--driver', 'overlay', '--attachable', 'traefik-public']);
    await manager.run('docker', ['secret', 'create', 'swarmlet-registry-htpasswd', '-'], {
      input: `${USER}:${bcrypt.hashSync(PASSWORD, 10)}\n`,
    });
    const env = { SWARMLET_VERSION: VERSION, SWARMLET_PUBLISH_MODE: 'host', DOMAIN: 'bench.test' };
    for (const stack of ['registry', 'forwarder']) {
      const compose = join(repoRoot, 'stacks', stack, 'docker-compose.yml');
      await manager.run('docker', ['stack', 'deploy', '--resolve-image', 'never', '-c', compose, stack], { env });
    }
    const configs = new Map<SwarmNode, string>();
    for (const node of [manager, worker]) {
      const config = join(work, `config-${node.name}`);
      configs.set(node, config);
      await waitFor(
        `docker login on ${node.name}`,
        async () => {
          const login = await node.run(
            'docker',
            ['--config', config, 'login', '127.0.0.1:5000', '--username', USER, '--password-stdin'],
            { input: PASSWORD, reject: false },
          );
          return login.exitCode === 0 ? true : undefined;
        },
        { timeoutMs: 180_000, intervalMs: 2_000 },
      );
    }
    const context = join(work, 'context');
    mkdirSync(context);
    writeFileSync(
      join(context, 'Dockerfile'),
      `FROM busybox AS random\nRUN head -c ${String(BLOB_MIB * 1024 * 1024)} /dev/urandom > /blob\nFROM scratch\nCOPY --from=random /blob /blob\n`,
    );
    await manager.run('docker', ['build', '--quiet', '-t', IMAGE, context], { env: { DOCKER_BUILDKIT: '0' } });
    await manager.run('docker', ['--config', configs.get(manager) ?? '', 'push', '--quiet', IMAGE]);

    const direct: number[] = [];
    const forwarded: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      direct.push(await timedPull(manager, configs.get(manager) ?? ''));
      forwarded.push(await timedPull(worker, configs.get(worker) ?? ''));
    }
    const rate = (secondsTaken: number) => BLOB_MIB / secondsTaken;
    const directRate = rate(median(direct));
    const forwardedRate = rate(median(forwarded));
    console.log(`image pull of one ${String(BLOB_MIB)} MiB layer, median of ${String(ROUNDS)} each:`);
    console.log(`  on the registry's node (127.0.0.1:5000, direct): ${directRate.toFixed(1)} MiB/s`);
    console.log(`  on the other node (127.0.0.1:5000 through the forwarder): ${forwardedRate.toFixed(1)} MiB/s`);
    console.log(`  ratio forwarder / direct: ${(forwardedRate / directRate).toFixed(2)}`);
  } finally {
    await swarm.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
