import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { execa } from 'execa';
import { ensureStandInImage, freePort, removeStack, requireEngine, waitFor } from '../support/docker.js';
import { commitFiles } from '../support/git.js';
import { startLocalPlatform, type LocalPlatform } from '../support/platform.js';

const COMPOSE = `version: "3.8"
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
    deploy:
      labels:
        traefik.enable: "true"
        traefik.http.routers.web-${process.pid}.rule: Host(\`\${APP_NAME}.\${ROOT_DOMAIN}\`)
`;

/**
 * `git push` as a user does it, against the platform as `npm start` runs it (`swarmlet up`: registry, agent and
 * receiver as processes on this machine), with the real OpenSSH client and git.
 */
describe('git push to the platform started by swarmlet up', () => {
  const work = mkdtempSync(join(tmpdir(), 'swarmlet-push-'));
  const app = `pushed-${process.pid}`;
  const repo = join(work, 'app');
  let docker: Docker | undefined;
  let platform: LocalPlatform;
  let port = 0;

  const git = (...args: string[]) => platform.git(repo, ...args);

  const commit = (files: Record<string, string>, message: string) => commitFiles(repo, files, message);

  const served = () =>
    waitFor('the app to answer', async () => {
      const response = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
      return response?.ok ? response.text() : undefined;
    });

  beforeAll(async () => {
    docker = await requireEngine();
    await ensureStandInImage(docker, 'busybox');
    platform = await startLocalPlatform(work);
    port = await freePort();
    await platform.initRepository(repo, app);
  }, 180_000);

  afterAll(async () => {
    await platform.stop();
    await removeStack(docker, app, `swarmlet.app=${app}`);
    rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('deploys a push to master, showing the build and the URL, and runs the pushed commit', async () => {
    const sha = await commit(
      {
        Dockerfile: 'FROM busybox\nCOPY index.html /www/index.html\n',
        'index.html': 'pushed one\n',
        'docker-compose.yml': COMPOSE,
        '.env': `PORT=${port}\n`,
      },
      'one',
    );
    const push = await git('push', 'swarmlet', 'master');
    expect(push.all).toContain('remote: -----> build');
    expect(push.all).toMatch(/remote: #\d+ \[1\/\d+\] FROM docker\.io\/library\/busybox/);
    expect(push.all).toContain(`https://${app}.localhost`);
    expect(push.exitCode).toBe(0);
    expect(await served()).toBe('pushed one\n');
    if (!docker) throw new Error('no engine');
    const service = (await docker.getService(`${app}_web`).inspect()) as {
      Spec: { TaskTemplate: { ContainerSpec: { Image: string } } };
    };
    expect(service.Spec.TaskTemplate.ContainerSpec.Image).toContain(`/${app}-web:${sha}@sha256:`);
  }, 300_000);

  it('rejects a push whose build fails, keeps the branch and the running version', async () => {
    const before = (await git('ls-remote', 'swarmlet', 'refs/heads/master')).stdout.split('\t')[0];
    await commit({ Dockerfile: 'FROM busybox\nRUN echo "this build breaks" && exit 7\n' }, 'broken');
    const push = await git('push', 'swarmlet', 'master');
    expect(push.exitCode).not.toBe(0);
    expect(push.all).toContain('pre-receive hook declined');
    expect(push.all).toMatch(/build of web failed: .*exit code: 7/);
    expect((await git('ls-remote', 'swarmlet', 'refs/heads/master')).stdout.split('\t')[0]).toBe(before);
    expect(await served()).toBe('pushed one\n');
  }, 300_000);

  it('swarmlet deploy runs a local repository at HEAD through the agent, with an exit code that tells', async () => {
    const swarmlet = (...args: string[]) => platform.cli(args);
    const broken = await swarmlet('deploy', repo, '--app', app);
    expect(broken.exitCode).toBe(1);
    expect(broken.all).toMatch(/deploy failed: build: build of web failed/);
    await git('reset', '--quiet', '--hard', 'HEAD~1');
    await commit({ 'index.html': 'deployed by swarmlet deploy\n' }, 'three');
    const good = await swarmlet('deploy', repo, '--app', app);
    expect(good.all).toContain(`no router runs here, so https://${app}.localhost cannot answer; published ports:`);
    expect(good.all).toMatch(/^web: http:\/\/127\.0\.0\.1:\d+ \(port \d+\)$/m);
    expect(good.exitCode).toBe(0);
    await waitFor('the new version', async () =>
      (await served()) === 'deployed by swarmlet deploy\n' ? true : undefined,
    );
  }, 300_000);
  it('rejects a push whose new container exits at once, keeps the branch and the running version', async () => {
    const before = (await git('ls-remote', 'swarmlet', 'refs/heads/master')).stdout.split('\t')[0];
    const running = await served();
    await commit(
      {
        'docker-compose.yml': COMPOSE.replace('["httpd", "-f", "-p", "8080", "-h", "/www"]', '["sh", "-c", "exit 3"]'),
      },
      'crashes',
    );
    const push = await git('push', 'swarmlet', 'master');
    expect(push.exitCode).not.toBe(0);
    expect(push.all).toContain('pre-receive hook declined');
    expect(push.all).toMatch(
      /remote: -----> Deploy failed: converge: service \S+_web failed: .*(exit code 3|non-zero exit \(3\))/,
    );
    expect((await git('ls-remote', 'swarmlet', 'refs/heads/master')).stdout.split('\t')[0]).toBe(before);
    expect(await served()).toBe(running);
    await git('reset', '--quiet', '--hard', 'HEAD~1');
  }, 300_000);

  it('runs two pushes to the app at once one after the other, both ending well', async () => {
    await commit({ 'index.html': 'pushed four\n' }, 'four');
    const second = join(work, 'second-clone');
    await execa('git', ['clone', '--quiet', repo, second]);
    const five = await commitFiles(second, { 'index.html': 'pushed five\n' }, 'five');
    const gitSecond = (...args: string[]) => platform.git(second, ...args);
    await gitSecond('remote', 'add', 'swarmlet', platform.remote(app));
    const first = git('push', 'swarmlet', 'master');
    let firstOutput = '';
    first.all.on('data', (chunk: Buffer) => {
      firstOutput += chunk.toString('utf8');
    });
    await waitFor('the first push to be deploying', () =>
      Promise.resolve(firstOutput.includes('remote: -----> build') ? true : undefined),
    );
    const [firstResult, secondResult] = await Promise.all([first, gitSecond('push', 'swarmlet', 'master')]);
    expect(firstResult.exitCode).toBe(0);
    expect(secondResult.all).toContain(`Another push to ${app} is running: this one waits for it to end`);
    expect(secondResult.all).toContain(`https://${app}.localhost`);
    expect(secondResult.exitCode).toBe(0);
    expect((await git('ls-remote', 'swarmlet', 'refs/heads/master')).stdout.split('\t')[0]).toBe(five);
    await waitFor('the second push to serve', async () => ((await served()) === 'pushed five\n' ? true : undefined));
  }, 400_000);
});
