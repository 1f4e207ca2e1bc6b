import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { execa } from 'execa';
import { ensureStandInImage, freePort, removeStack, requireEngine, waitFor } from '../support/docker.js';
import { commitFiles } from '../support/git.js';
import { startLocalPlatform, type LocalPlatform } from '../support/platform.js';

/** How many deploys of each app the platform under test keeps. */
const HISTORY_LIMIT = 2;

/** A request that a healthy version of the test apps answers: its index.html holds `version`. */
const ASK = `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3`;

/** A Dockerfile serving `index.html` on 8080 whose HEALTHCHECK passes once it answers, or never with `healthy` false. */
const dockerfile = (healthy: boolean): string =>
  [
    'FROM busybox',
    'COPY index.html /www/index.html',
    `HEALTHCHECK --interval=1s --timeout=3s --retries=2 CMD ${healthy ? `${ASK} 127.0.0.1 8080 | grep -q version` : 'false'}`,
    'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]',
    '',
  ].join('\n');

/** One service publishing a host-mode port, so the deployer updates it stop-first. */
const HOST_PORT_COMPOSE = `services:
  web:
    build: .
    stop_grace_period: 2s
    ports:
      - target: 8080
        published: \${PORT}
        mode: host
`;

/** One service reachable by DNS round robin on the app's attachable network only, so it is updated start-first. */
const OVERLAY_COMPOSE = `services:
  web:
    build: .
    stop_grace_period: 2s
    deploy:
      endpoint_mode: dnsrr
networks:
  default:
    driver: overlay
    attachable: true
`;

/**
 * Issue #12 points 7 and 9 end to end, on `swarmlet up` keeping two deploys per app: deploys that fall out of the
 * history take their registry tags and engine images along; a history that cannot be written after a good deploy
 * is a warning, not a failure; a failed deploy is answered only once the previous version serves again; a
 * start-first service never drops a request, in a good deploy or a failed one.
 */
describe('retention, full disks and honest rollbacks', () => {
  const work = mkdtempSync(join(tmpdir(), 'swarmlet-retention-'));
  const apps = { keep: `keep-${process.pid}`, stop: `stopfirst-${process.pid}`, start: `startfirst-${process.pid}` };
  const mounts: string[] = [];
  const probes: string[] = [];
  let docker: Docker;
  let platform: LocalPlatform;
  let agentOutput = '';
  let keepPort = 0;

  const repoOf = (app: string) => join(work, app);
  const push = (app: string) => platform.git(repoOf(app), 'push', 'swarmlet', 'master');
  const commitVersion = (app: string, version: string, healthy = true, extra: Record<string, string> = {}) =>
    commitFiles(
      repoOf(app),
      { Dockerfile: dockerfile(healthy), 'index.html': `version ${version}\n`, ...extra },
      version,
    );
  const pushed = async (app: string) => {
    const result = await push(app);
    if (result.exitCode !== 0) throw new Error(`the push of ${app} failed: ${result.all}`);
    return result.all;
  };
  const get = async (port: number) => {
    const response = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
    return response?.ok ? response.text() : undefined;
  };
  const registryTags = async (app: string) => {
    const response = await fetch(`http://127.0.0.1:${platform.registryPort}/v2/${app}-web/tags/list`);
    return ((await response.json()) as { tags?: string[] | null }).tags ?? [];
  };
  const engineHas = (app: string, commit: string) =>
    docker
      .getImage(`127.0.0.1:${platform.registryPort}/${app}-web:${commit}`)
      .inspect()
      .then(
        () => true,
        () => false,
      );

  beforeAll(async () => {
    docker = await requireEngine();
    await ensureStandInImage(docker, 'busybox');
    const previous = process.env.SWARMLET_HISTORY_LIMIT;
    process.env.SWARMLET_HISTORY_LIMIT = String(HISTORY_LIMIT);
    try {
      platform = await startLocalPlatform(work);
    } finally {
      if (previous === undefined) delete process.env.SWARMLET_HISTORY_LIMIT;
      else process.env.SWARMLET_HISTORY_LIMIT = previous;
    }
    platform.process.all?.on('data', (chunk: Buffer) => {
      agentOutput += chunk.toString('utf8');
    });
    for (const app of Object.values(apps)) await platform.initRepository(repoOf(app), app);
  }, 300_000);

  afterAll(async () => {
    for (const mount of mounts) await execa('umount', [mount], { reject: false });
    for (const probe of probes) await execa('docker', ['rm', '-f', probe], { reject: false });
    await platform.stop();
    for (const app of Object.values(apps)) await removeStack(docker, app, `swarmlet.app=${app}`);
    rmSync(work, { recursive: true, force: true });
  }, 240_000);

  it('removes the registry tags and engine images of deploys that fell out of the history, keeps the rest', async () => {
    const app = apps.keep;
    const port = (keepPort = await freePort());
    const commits: string[] = [];
    for (const version of ['1', '2', '3', '4']) {
      const extra: Record<string, string> =
        version === '1' ? { 'docker-compose.yml': HOST_PORT_COMPOSE, '.env': `PORT=${port}\n` } : {};
      commits.push(await commitVersion(app, version, true, extra));
      const output = await pushed(app);
      if (version === '3') expect(output).toContain('history: 1 older deploy removed, with 1 registry tag');
    }
    const [first, second, third, fourth] = commits;
    expect(await get(port)).toBe('version 4\n');
    const deploys = JSON.parse((await platform.ssh(['deploys', app, '--json'])).stdout) as { commit: string }[];
    expect(deploys.map((deploy) => deploy.commit)).toEqual([fourth, third]);
    const tags = await registryTags(app);
    expect(tags).toEqual(expect.arrayContaining([third, fourth]));
    expect(tags).not.toContain(first);
    expect(tags).not.toContain(second);
    expect(await engineHas(app, first ?? '')).toBe(false);
    expect(await engineHas(app, second ?? '')).toBe(false);
    expect(await engineHas(app, third ?? '')).toBe(true);
    expect(await engineHas(app, fourth ?? '')).toBe(true);

    const rollback = await platform.ssh(['rollback', app]);
    expect(rollback.exitCode).toBe(0);
    expect(rollback.stdout).toContain('reusing the images already built');
    expect(await get(port)).toBe('version 3\n');
    expect(await registryTags(app)).toEqual(expect.arrayContaining([third, fourth]));
    expect(await engineHas(app, fourth ?? '')).toBe(true);
  }, 900_000);

  it('answers a good deploy as a success with a warning when its history cannot be written on a full disk', async () => {
    const app = apps.keep;
    const history = join(work, 'data', 'deployer', 'deploys', app);
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=64k', `swarmlet-test-${process.pid}`, history]);
    mounts.push(history);
    const filler = join(history, 'filler');
    await execa('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4096'], { reject: false });
    await execa('truncate', ['-s', '-4096', filler]);
    await commitVersion(app, '5');
    const result = await push(app);
    expect(result.exitCode).toBe(0);
    expect(result.all).toMatch(/warning: the deploy's history could not be saved: .*no space left on device/i);
    expect(result.all).not.toContain('deploy failed');
    expect(await get(keepPort)).toBe('version 5\n');
    expect(readdirSync(history).flatMap((id) => (id === 'filler' ? [] : readdirSync(join(history, id))))).toEqual([
      'log',
      'record.json',
    ]);
    expect(agentOutput).toContain("the deploy's history could not be saved");
    await execa('umount', [history]);
    mounts.splice(mounts.indexOf(history), 1);
  }, 600_000);

  it('declines a stop-first version whose health check fails only once the previous version answers again', async () => {
    const app = apps.stop;
    const port = await freePort();
    await commitVersion(app, '1', true, { 'docker-compose.yml': HOST_PORT_COMPOSE, '.env': `PORT=${port}\n` });
    await pushed(app);
    expect(await get(port)).toBe('version 1\n');
    await commitVersion(app, '2', false);
    const result = await push(app);
    const answered = await get(port);
    expect(result.exitCode).not.toBe(0);
    expect(answered).toBe('version 1\n');
    expect(result.all).toMatch(/previous version was restored and serves again/);
    expect(result.all).toMatch(new RegExp(`${app}_web was unavailable for \\d+\\.\\d s \\(from its old task's stop`));
  }, 600_000);

  it('keeps a start-first service answering every request through a good deploy and a failed one', async () => {
    const app = apps.start;
    await commitVersion(app, '1', true, { 'docker-compose.yml': OVERLAY_COMPOSE });
    await pushed(app);
    const probe = async (during: () => Promise<unknown>) => {
      const name = `swarmlet-probe-${process.pid}-${probes.length}`;
      probes.push(name);
      const loop = `while true; do r=$(${ASK} web 8080 2>&1); case "$r" in *version*) echo ok;; *) echo "FAIL $r" | head -c 200; echo;; esac; sleep 0.1; done`;
      await execa('docker', [
        'run',
        '-d',
        '--name',
        name,
        '--network',
        `${app}_default`,
        'busybox:latest',
        'sh',
        '-c',
        loop,
      ]);
      await waitFor('the probe to get answers', async () =>
        (await execa('docker', ['logs', name])).stdout.includes('ok') ? true : undefined,
      );
      await during();
      const { stdout } = await execa('docker', ['logs', name]);
      await execa('docker', ['rm', '-f', name]);
      return stdout.split('\n').filter((line) => line !== '');
    };
    const good = await probe(async () => {
      await commitVersion(app, '2');
      await pushed(app);
    });
    expect(good.filter((line) => line !== 'ok')).toEqual([]);
    expect(good.length).toBeGreaterThan(10);
    const failed = await probe(async () => {
      await commitVersion(app, '3', false);
      const result = await push(app);
      expect(result.exitCode).not.toBe(0);
      expect(result.all).toMatch(/previous version was restored/);
      expect(result.all).not.toMatch(/was unavailable for/);
    });
    expect(failed.filter((line) => line !== 'ok')).toEqual([]);
    expect(failed.length).toBeGreaterThan(10);
  }, 600_000);
});
