import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { execa } from 'execa';
import { ensureStandInImage, freePort, removeStack, requireEngine, waitFor } from '../support/docker.js';
import { commitFiles } from '../support/git.js';
import { startLocalPlatform, type LocalPlatform } from '../support/platform.js';

/** The compose file: `web` serves index.html on a host-mode port; `healthcheck` may keep a new task starting. */
const compose = (healthcheck = '') => `services:
  web:
    build: .
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    ports:
      - target: 8080
        published: \${PORT}
        mode: host
${healthcheck}`;

/** A health check that keeps a new task `starting` for ten minutes: its deploy stays in convergence. */
const NEVER_HEALTHY = `    healthcheck:
      test: ["CMD", "false"]
      interval: 2s
      start_period: 10m
`;

/** A Dockerfile whose build runs `sleep <seconds>` (a build that never ends on its own), or a quick one. */
const dockerfile = (sleep?: number) =>
  `FROM busybox\n${sleep === undefined ? '' : `RUN echo slow step && sleep ${sleep}\n`}COPY index.html /www/index.html\n`;

interface DeployRow {
  id: string;
  commit: string;
  status: string;
  step?: string;
  stackDeployedAt?: string;
  interruptedAt?: string;
  error?: string;
}

/**
 * Time limits, `cancel APP` and crash recovery end to end, as a user meets them: pushes over real SSH to
 * `swarmlet up`, a build that never ends stopped by its limit and by `cancel`, a convergence stopped by `cancel`
 * and rolled back, and the whole platform killed with SIGKILL during a build and during convergence, then started
 * again on the same data. After each, the previous version answers and the next push deploys.
 */
describe('time limits, cancel and crash recovery', () => {
  const work = mkdtempSync(join(tmpdir(), 'swarmlet-limits-'));
  const app = `limits-${process.pid}`;
  const repo = join(work, 'app');
  let docker: Docker;
  let platform: LocalPlatform;
  let port = 0;
  let sleepSeconds = 3_000_000 + process.pid * 10;

  const ssh = (...args: string[]) => platform.ssh(args);
  const push = () => platform.git(repo, 'push', 'swarmlet', 'master');
  const get = async () => {
    const response = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
    return response?.ok ? response.text() : undefined;
  };
  const serving = (text: string) =>
    waitFor(`the app to serve ${JSON.stringify(text)}`, async () => ((await get()) === text ? true : undefined), {
      timeoutMs: 120_000,
    });
  const sleeping = async (seconds: number) =>
    (await execa('pgrep', ['-x', '-f', `sleep ${seconds}`], { reject: false })).stdout.trim() !== '';
  const untilSleeping = (seconds: number) =>
    waitFor(`the build's sleep ${seconds}`, async () => ((await sleeping(seconds)) ? true : undefined), {
      timeoutMs: 180_000,
    });
  const untilNoSleep = (seconds: number) =>
    waitFor(`no sleep ${seconds} left`, async () => ((await sleeping(seconds)) ? undefined : true), {
      timeoutMs: 60_000,
    });
  const newest = async (): Promise<DeployRow | undefined> => {
    const answer = await ssh('deploys', app, '--json');
    return answer.exitCode === 0 ? (JSON.parse(answer.stdout) as DeployRow[])[0] : undefined;
  };
  const untilNewest = (what: string, matches: (record: DeployRow) => boolean) =>
    waitFor(
      what,
      async () => {
        const record = await newest();
        return record && matches(record) ? record : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 1000 },
    );
  const version = (text: string) =>
    commitFiles(repo, { Dockerfile: dockerfile(), 'index.html': `${text}\n`, 'docker-compose.yml': compose() }, text);
  const webImage = async () =>
    (
      (await docker.getService(`${app}_web`).inspect()) as {
        Spec: { TaskTemplate: { ContainerSpec: { Image: string } } };
      }
    ).Spec.TaskTemplate.ContainerSpec.Image;
  const pushGood = async (text: string) => {
    await version(text);
    const pushed = await push();
    expect(pushed.all).toContain(`-----> Deployed ${app}`);
    expect(pushed.exitCode).toBe(0);
    await serving(`${text}\n`);
  };

  beforeAll(async () => {
    docker = await requireEngine();
    await ensureStandInImage(docker, 'busybox');
    platform = await startLocalPlatform(work);
    port = await freePort();
    await platform.initRepository(repo, app);
    await commitFiles(repo, { '.env': `PORT=${port}\n` }, 'port');
    await version('version one');
    const pushed = await push();
    if (pushed.exitCode !== 0) throw new Error(`the first push failed: ${pushed.all}`);
    await serving('version one\n');
  }, 300_000);

  afterAll(async () => {
    await platform.stop();
    await removeStack(docker, app, `swarmlet.app=${app}`);
    rmSync(work, { recursive: true, force: true });
  }, 180_000);

  it('refuses a time limit that is not a duration at config set, changing nothing', async () => {
    const refused = await ssh('config', 'set', app, 'SWARMLET_BUILD_TIMEOUT=soon');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(
      'SWARMLET_BUILD_TIMEOUT="soon" is not a time limit: give a duration such as 30m, 90s or 1h30m',
    );
    expect((await ssh('config', 'show', app)).stdout).toBe(`no config set for ${app}`);
  }, 60_000);

  it('a build past SWARMLET_BUILD_TIMEOUT is stopped, the push declined naming the step; the next push deploys', async () => {
    const set = await ssh('config', 'set', app, 'SWARMLET_BUILD_TIMEOUT=15s', '--no-deploy');
    expect(set.exitCode).toBe(0);
    const seconds = ++sleepSeconds;
    await commitFiles(repo, { Dockerfile: dockerfile(seconds), 'index.html': 'never served\n' }, 'slow build');
    const pushed = await push();
    expect(pushed.exitCode).not.toBe(0);
    expect(pushed.all).toContain('build: stopped after 15 s (SWARMLET_BUILD_TIMEOUT)');
    expect(pushed.all).toContain('[remote rejected]');
    expect(await get()).toBe('version one\n');
    await untilNoSleep(seconds);
    const record = await newest();
    expect(record).toMatchObject({ status: 'timed-out', step: 'build' });
    expect(record?.stackDeployedAt).toBeUndefined();
    expect((await ssh('deploys', app)).stdout).toMatch(/timed-out at build/);
    expect((await ssh('config', 'unset', app, 'SWARMLET_BUILD_TIMEOUT', '--no-deploy')).exitCode).toBe(0);
    await pushGood('version two');
  }, 400_000);

  it('cancel APP during a build stops it the same way, and says so; with nothing running it says that', async () => {
    const seconds = ++sleepSeconds;
    await commitFiles(repo, { Dockerfile: dockerfile(seconds), 'index.html': 'never served\n' }, 'slow build');
    const pushing = push();
    await untilSleeping(seconds);
    const cancelled = await ssh('cancel', app);
    expect(cancelled.exitCode).toBe(0);
    expect(cancelled.stdout).toMatch(
      new RegExp(`^cancelled deploy \\S+ of ${app} \\(commit [0-9a-f]{12}, push by pusher SHA256:`, 'm'),
    );
    expect(cancelled.stdout).toContain('cancelled at build');
    expect(cancelled.stdout).toContain(`build: cancelled by pusher SHA256:`);
    const pushed = await pushing;
    expect(pushed.exitCode).not.toBe(0);
    expect(pushed.all).toContain(`build: cancelled by pusher SHA256:`);
    expect(pushed.all).toContain(`(\`cancel ${app}\`)`);
    expect(await get()).toBe('version two\n');
    await untilNoSleep(seconds);
    expect(await newest()).toMatchObject({ status: 'cancelled', step: 'build' });
    const idle = await ssh('cancel', app, '--json');
    expect(idle.exitCode).toBe(0);
    expect(JSON.parse(idle.stdout)).toEqual({ app, stoppedChange: false, dropped: false });
    expect((await ssh('cancel', app)).stdout).toBe(`nothing to cancel: no deploy of ${app} runs or waits`);
    expect((await ssh('cancel')).exitCode).toBe(2);
    await pushGood('version three');
  }, 400_000);

  it('cancel APP during convergence rolls the stack back to the previous version and says so', async () => {
    const previous = await webImage();
    await commitFiles(repo, { 'index.html': 'never healthy\n', 'docker-compose.yml': compose(NEVER_HEALTHY) }, 'stuck');
    const pushing = push();
    await untilNewest(
      'the deploy to reach convergence',
      (record) => record.status === 'running' && record.step === 'converge',
    );
    const cancelled = await ssh('cancel', app);
    expect(cancelled.exitCode).toBe(0);
    expect(cancelled.stdout).toContain('cancelled at converge, after stack deploy');
    expect(cancelled.stdout).toContain(`after docker stack deploy: rolled back ${app}_web to the previous version`);
    const pushed = await pushing;
    expect(pushed.exitCode).not.toBe(0);
    expect(pushed.all).toContain('converge: cancelled by pusher');
    await serving('version three\n');
    expect(await webImage()).toBe(previous);
    await pushGood('version four');
  }, 400_000);

  it('after SIGKILL during a build and a restart, the deploy is interrupted at build and the next push deploys', async () => {
    const seconds = ++sleepSeconds;
    await commitFiles(repo, { Dockerfile: dockerfile(seconds), 'index.html': 'never served\n' }, 'slow build');
    const pushing = push();
    await untilSleeping(seconds);
    await platform.kill();
    expect((await pushing).exitCode).not.toBe(0);
    platform = await startLocalPlatform(work, platform);
    const record = await untilNewest('the record to be interrupted', (found) => found.status === 'interrupted');
    expect(record).toMatchObject({ step: 'build' });
    expect(record.stackDeployedAt).toBeUndefined();
    expect(record.interruptedAt).toEqual(expect.any(String));
    expect(record.error).toContain('interrupted during build');
    expect(record.error).toContain('nothing was deployed, the previous version keeps serving');
    expect((await ssh('deploys', app)).stdout).toMatch(/interrupted at build/);
    const status = await ssh('status', app);
    expect(status.exitCode).toBe(0);
    expect(status.stdout).toContain('deploying  no');
    expect(status.stdout).toMatch(/^last +deploy \S+ of [0-9a-f]{12} interrupted at build: interrupted during build/m);
    expect(await get()).toBe('version four\n');
    await untilNoSleep(seconds);
    await pushGood('version five');
  }, 500_000);

  it('after SIGKILL during convergence and a restart, the record says so after stack deploy; the next push deploys', async () => {
    await commitFiles(repo, { 'index.html': 'never healthy\n', 'docker-compose.yml': compose(NEVER_HEALTHY) }, 'stuck');
    const pushing = push();
    await untilNewest(
      'the deploy to reach convergence',
      (record) => record.status === 'running' && record.step === 'converge',
    );
    await platform.kill();
    expect((await pushing).exitCode).not.toBe(0);
    platform = await startLocalPlatform(work, platform);
    const record = await untilNewest('the record to be interrupted', (found) => found.status === 'interrupted');
    expect(record).toMatchObject({ step: 'converge', stackDeployedAt: expect.any(String) as unknown });
    expect(record.error).toBe(
      `interrupted during converge after docker stack deploy (the agent stopped: killed or crashed): the swarm may run the new version; \`status ${app}\` shows what runs`,
    );
    const status = await ssh('status', app);
    expect(status.exitCode).toBe(0);
    expect(status.stdout).toMatch(/interrupted at converge, after stack deploy/);
    expect(status.stdout).toMatch(new RegExp(`^web\\s+\\S+/${app}-web:[0-9a-f]{40}`, 'm'));
    const json = JSON.parse((await ssh('status', app, '--json')).stdout) as {
      lastDeploy?: DeployRow;
      deploying?: unknown;
    };
    expect(json.lastDeploy).toMatchObject({ status: 'interrupted', step: 'converge' });
    expect(json.deploying).toBeUndefined();
    await pushGood('version six');
  }, 500_000);
});
