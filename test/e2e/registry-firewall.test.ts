import { join } from 'node:path';
import { execa } from 'execa';
import { ensureStandInImage, freePort, repoRoot, requireEngine, waitFor } from '../support/docker.js';

const SCRIPT = join(repoRoot, 'scripts', 'registry-firewall.sh');
const suffix = String(process.pid);
const SERVICE = `swarmlet-firewall-${suffix}`;
const NAMESPACE = `swarmlet-fw-${suffix}`;
const HOST_LINK = `sfw${suffix}h`;
const OUTSIDE_LINK = `sfw${suffix}o`;
/** A /30 of 10.250.0.0/16 of the test's own (docker's pools and swarm's 10.0.0.0/8 overlays here do not reach it). */
const SUBNET = `10.250.${String(process.pid % 250)}`;
const HOST_ADDRESS = `${SUBNET}.1`;
const OUTSIDE_ADDRESS = `${SUBNET}.2`;

/** `iptables -S CHAIN` as lines, or [] when the chain does not exist. */
async function rules(chain: string): Promise<string[]> {
  const listed = await execa('iptables', ['-w', '-S', chain], { reject: false });
  return listed.exitCode === 0 ? listed.stdout.split('\n').filter((line) => line.startsWith('-A')) : [];
}

/**
 * `scripts/registry-firewall.sh` (the script install.sh installs) on a port of the test's own: a swarm service
 * published in host mode, as the registry stack is where there is no routing mesh, reached from a network namespace
 * of the test's own (an address outside the swarm, over a veth pair to this host) and from 127.0.0.1.
 */
describe('registry-firewall.sh', () => {
  let port = 0;
  let chain = '';

  const firewall = (...args: string[]) => execa('bash', [SCRIPT, ...args, '--port', String(port)], { all: true });

  /** GET /hostname on the port: the HTTP status, or `refused` when no connection could be made. */
  const fetchFrom = async (where: 'outside' | 'loopback'): Promise<string> => {
    const url = `http://${where === 'outside' ? HOST_ADDRESS : '127.0.0.1'}:${String(port)}/hostname`;
    const curl = ['curl', '--silent', '--max-time', '10', '--output', '/dev/null', '--write-out', '%{http_code}', url];
    const result =
      where === 'outside'
        ? await execa('nsenter', [`--net=/var/run/netns/${NAMESPACE}`, ...curl], { reject: false })
        : await execa(curl[0] ?? 'curl', curl.slice(1), { reject: false });
    if (result.exitCode === 7) return 'refused';
    if (result.exitCode !== 0) throw new Error(`curl ${url} from ${where} failed (${String(result.exitCode)})`);
    return result.stdout;
  };

  beforeAll(async () => {
    const docker = await requireEngine();
    const image = await ensureStandInImage(docker, 'busybox');
    port = await freePort();
    chain = `SWARMLET-REGISTRY-${String(port)}`;
    await execa('docker', [
      'service',
      'create',
      '--detach',
      '--name',
      SERVICE,
      '--label',
      'swarmlet.test=true',
      '--publish',
      `mode=host,target=8080,published=${String(port)}`,
      image,
      'httpd',
      '-f',
      '-p',
      '8080',
      '-h',
      '/etc',
    ]);
    await execa('ip', ['netns', 'add', NAMESPACE]);
    await execa('ip', ['link', 'add', HOST_LINK, 'type', 'veth', 'peer', 'name', OUTSIDE_LINK]);
    await execa('ip', ['link', 'set', OUTSIDE_LINK, 'netns', NAMESPACE]);
    await execa('ip', ['addr', 'add', `${HOST_ADDRESS}/30`, 'dev', HOST_LINK]);
    await execa('ip', ['link', 'set', HOST_LINK, 'up']);
    const inside = ['nsenter', `--net=/var/run/netns/${NAMESPACE}`, 'ip'];
    for (const args of [
      ['link', 'set', 'lo', 'up'],
      ['addr', 'add', `${OUTSIDE_ADDRESS}/30`, 'dev', OUTSIDE_LINK],
      ['link', 'set', OUTSIDE_LINK, 'up'],
    ]) {
      await execa(inside[0] ?? 'nsenter', [...inside.slice(1), ...args]);
    }
    await waitFor(`${SERVICE} to serve on 127.0.0.1:${String(port)}`, async () =>
      (await fetchFrom('loopback')) === '200' ? true : undefined,
    );
  }, 180_000);

  afterAll(async () => {
    if (port !== 0) await execa('bash', [SCRIPT, 'remove', '--port', String(port)], { reject: false });
    await execa('ip', ['netns', 'del', NAMESPACE], { reject: false });
    await execa('ip', ['link', 'del', HOST_LINK], { reject: false });
    await execa('docker', ['service', 'rm', SERVICE], { reject: false });
  });

  it('is reachable from outside the swarm before the rules exist', async () => {
    expect(await fetchFrom('outside')).toBe('200');
  });

  it('refuses the port from outside the swarm and serves it on 127.0.0.1, the same after a second run', async () => {
    const nodes = (await execa('docker', ['node', 'ls', '--format', '{{.ID}}'])).stdout.split('\n');
    const nodeAddresses = (await execa('docker', ['node', 'inspect', '--format', '{{.Status.Addr}}', ...nodes])).stdout
      .split('\n')
      .filter((address) => address !== '0.0.0.0');

    const applied = await firewall('apply');
    expect(applied.all).toContain(`port ${String(port)} answers only loopback`);
    expect(await fetchFrom('outside')).toBe('refused');
    expect(await fetchFrom('loopback')).toBe('200');
    const chainRules = await rules(chain);
    expect(chainRules[0]).toBe(`-A ${chain} -s 127.0.0.0/8 -j RETURN`);
    for (const address of nodeAddresses) expect(chainRules).toContain(`-A ${chain} -s ${address}/32 -j RETURN`);
    expect(chainRules.at(-1)).toBe(`-A ${chain} -p tcp -j REJECT --reject-with tcp-reset`);

    await firewall('apply');
    expect(await rules(chain)).toEqual(chainRules);
    expect((await rules('DOCKER-USER')).filter((line) => line.includes(chain))).toHaveLength(1);
    expect(await fetchFrom('outside')).toBe('refused');
  });

  it('lets in an address it is given, as a node that joined, and refuses it again once it is gone', async () => {
    await firewall('apply', '--allow', OUTSIDE_ADDRESS);
    expect(await fetchFrom('outside')).toBe('200');
    await firewall('apply');
    expect(await fetchFrom('outside')).toBe('refused');
  });

  it('refuses bad input with one line and changes nothing', async () => {
    const before = await rules(chain);
    const bad = await execa('bash', [SCRIPT, 'apply', '--port', String(port), '--allow', '10.0.0.300'], {
      reject: false,
      all: true,
    });
    expect(bad.exitCode).toBe(1);
    expect(bad.all).toBe('registry-firewall: --allow takes an IPv4 address or CIDR, not 10.0.0.300');
    expect(await rules(chain)).toEqual(before);
  });

  it('serves the outside address again once removed, leaving no rule of its own behind', async () => {
    const othersBefore = (await rules('DOCKER-USER')).filter((line) => !line.includes(chain));
    await firewall('remove');
    expect(await fetchFrom('outside')).toBe('200');
    expect(await fetchFrom('loopback')).toBe('200');
    expect((await rules('DOCKER-USER')).filter((line) => line.includes(chain))).toEqual([]);
    expect((await rules('DOCKER-USER')).filter((line) => !line.includes(chain))).toEqual(othersBefore);
    expect((await execa('iptables', ['-w', '-S', chain], { reject: false })).exitCode).not.toBe(0);
    await firewall('remove');
  });
});
