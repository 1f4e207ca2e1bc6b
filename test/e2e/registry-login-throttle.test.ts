import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { requireEngine } from '../support/docker.js';
import {
  dockerCli,
  startSwarmletRegistry,
  withRegistryOutput,
  writeHtpasswd,
  type TestRegistry,
} from '../support/registries.js';

const USER = 'pusher';
const PASSWORD = 'correct horse battery staple';
const ATTACKER = '127.0.0.2';
const MAX_GUESSES = 5_000;

/** One wrong-password GET /v2/ from `ATTACKER`; resolves with the status. */
function guess(registry: TestRegistry, index: number): Promise<number> {
  const authorization = `Basic ${Buffer.from(`${USER}:guess-${index}`).toString('base64')}`;
  return new Promise((resolve, reject) => {
    const req = request(`${registry.url}/v2/`, { localAddress: ATTACKER, headers: { authorization } }, (res) => {
      res.resume();
      res.on('end', () => {
        resolve(res.statusCode ?? 0);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Our registry as a process on a real socket, with real clients logging in (skopeo, then the docker CLI through
 * the engine) while a password guesser floods it from another loopback address with the same user name.
 */
describe('registry logins under a password-guessing attack', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'swarmlet-login-throttle-'));
  const cli = dockerCli();

  afterAll(() => {
    cli.dispose();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('logs skopeo and docker in while the guesser is answered 429', async () => {
    await requireEngine();
    const root = join(scratch, 'root');
    mkdirSync(root);
    const htpasswd = writeHtpasswd(join(scratch, 'htpasswd'), { [USER]: PASSWORD });
    const registry = await startSwarmletRegistry({
      root,
      htpasswd,
      quiet: true,
      extraEnv: { REGISTRY_AUTH_HTPASSWD_THROTTLE_BURST: '5', REGISTRY_AUTH_HTPASSWD_THROTTLE_REFILL: '1h' },
    });
    try {
      await withRegistryOutput([registry], async () => {
        let attacking = true;
        const statuses: number[] = [];
        const guesser = async (): Promise<void> => {
          while (attacking && statuses.length < MAX_GUESSES) statuses.push(await guess(registry, statuses.length));
        };
        const attack = Promise.all(Array.from({ length: 8 }, guesser));
        try {
          const authfile = join(scratch, 'auth.json');
          const skopeoLogin = ['login', '--tls-verify=false', '--authfile', authfile, '-u', USER, '--password-stdin'];
          const loggedIn = await execa('skopeo', [...skopeoLogin, registry.host], { input: PASSWORD });
          expect(loggedIn.stdout).toMatch(/Login Succeeded/);
          const docker = await cli.run(['login', registry.host, '--username', USER, '--password-stdin'], PASSWORD);
          expect(docker).toMatch(/Login Succeeded/);
        } finally {
          attacking = false;
          await attack;
        }
        expect(statuses.filter((status) => status === 401)).toHaveLength(5);
        expect(statuses.filter((status) => status === 429).length).toBeGreaterThan(0);
        expect(statuses.every((status) => status === 401 || status === 429)).toBe(true);

        const metrics = await fetch(`${registry.url}/metrics`, {
          headers: { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` },
        });
        const throttled = /^registry_auth_throttled_total (\d+)$/m.exec(await metrics.text())?.[1];
        expect(Number(throttled)).toBe(statuses.length - 5);
      });
    } finally {
      await registry.stop();
    }
  }, 180_000);
});
