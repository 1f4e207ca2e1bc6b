import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { execa } from 'execa';
import {
  ensureStandInImage,
  freePort,
  localCaCertificates,
  removeStack,
  repoRoot,
  requireEngine,
  waitFor,
} from '../support/docker.js';
import { commitFiles } from '../support/git.js';
import { startLocalPlatform, type LocalPlatform } from '../support/platform.js';

const FIXTURE = join(repoRoot, 'test', 'e2e', 'fixtures', 'buildkit-node');

/**
 * `git push` of a `docker init`-style Node project (multi-stage, `npm ci` under bind and cache mounts) to the
 * platform as `swarmlet up` runs it, with the real OpenSSH client: built with BuildKit, served, rebuilt from
 * cache when one source file changes, and a failing `RUN` that declines the push with its output.
 */
describe('git push of a docker init-style Node project built with BuildKit', () => {
  const work = mkdtempSync(join(tmpdir(), 'swarmlet-buildkit-push-'));
  const app = `bknode-${process.pid}`;
  const repo = join(work, 'app');
  let docker: Docker | undefined;
  let platform: LocalPlatform;
  let port = 0;

  const git = (...args: string[]) => platform.git(repo, ...args);

  const served = () =>
    waitFor('the app to answer', async () => {
      const response = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
      return response?.ok ? response.text() : undefined;
    });

  beforeAll(async () => {
    docker = await requireEngine();
    await ensureStandInImage(docker, 'node');
    platform = await startLocalPlatform(work);
    port = await freePort();
    await platform.initRepository(repo, app);
  }, 300_000);

  afterAll(async () => {
    await platform.stop();
    await removeStack(docker, app, `swarmlet.app=${app}`);
    rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('deploys the project with BuildKit: npm ci from the lock file under bind and cache mounts', async () => {
    const files = Object.fromEntries(
      readdirSync(FIXTURE).map((name) => [name, readFileSync(join(FIXTURE, name), 'utf8')]),
    );
    const packageJson = (files['package.json'] ?? '').replace(
      '"description": "',
      `"description": "run ${process.pid}-${Date.now()}: `,
    );
    await commitFiles(
      repo,
      { ...files, 'package.json': packageJson, 'extra-ca.pem': localCaCertificates(), '.env': `PORT=${port}\n` },
      "one (package.json unique to this run, so the engine's build cache from an earlier run cannot serve npm ci)",
    );
    const push = await git('push', 'swarmlet', 'master');
    expect(push.all).toMatch(/remote: builder: BuildKit, the engine offers it/);
    expect(push.all).toMatch(/remote: #(\d+) \[deps 1\/1\] RUN --mount=type=bind,source=package.json.*npm ci/);
    expect(push.all).toMatch(/remote: #\d+ \d+\.\d{3} added 1 package/);
    expect(push.all).toMatch(/remote: build cache: /);
    expect(push.exitCode).toBe(0);
    expect(await served()).toBe('hello from the first push (2d)\n');
  }, 400_000);

  it('rebuilds a change to one source file from cache: the dependency step is CACHED', async () => {
    await commitFiles(repo, { 'greeting.js': "export const greeting = 'hello from the second push';\n" }, 'two');
    const push = await git('push', 'swarmlet', 'master');
    expect(push.all).toMatch(
      /remote: #(\d+) \[deps 1\/1\] RUN --mount=type=bind[^\n]*npm ci[^\n]*\nremote: #\1 CACHED/,
    );
    expect(push.all).toMatch(/remote: #(\d+) \[final 2\/2\] COPY \. \.\s*\nremote: #\1 DONE/);
    expect(push.exitCode).toBe(0);
    await waitFor('the second version', async () =>
      (await served()) === 'hello from the second push (2d)\n' ? true : undefined,
    );
  }, 400_000);

  it('declines a push whose RUN fails, showing that step output, and keeps the running version', async () => {
    const before = (await git('ls-remote', 'swarmlet', 'refs/heads/master')).stdout.split('\t')[0];
    const dockerfile = readFileSync(join(FIXTURE, 'Dockerfile'), 'utf8').replace(
      'COPY . .',
      'COPY . .\nRUN node -e "console.log(\'checking the greeting\'); process.exit(4)"',
    );
    await commitFiles(repo, { Dockerfile: dockerfile }, 'broken');
    const push = await git('push', 'swarmlet', 'master');
    expect(push.exitCode).not.toBe(0);
    expect(push.all).toContain('pre-receive hook declined');
    expect(push.all).toMatch(/remote: #(\d+) \d+\.\d{3} checking the greeting/);
    expect(push.all).toMatch(
      /remote: ------\s*\nremote: {2}> \[final 3\/3\] RUN node -e [^\n]*:\s*\nremote: checking the greeting/,
    );
    expect(push.all).toMatch(/build of web failed: .*exit code: 4/);
    expect((await git('ls-remote', 'swarmlet', 'refs/heads/master')).stdout.split('\t')[0]).toBe(before);
    expect(await served()).toBe('hello from the second push (2d)\n');
  }, 400_000);

  it('gives a build secret mount the app config value set over SSH, which then appears in no image or log', async () => {
    await git('reset', '--quiet', '--hard', 'HEAD~1');
    const secret = `npm-token-${process.pid}-${Date.now()}`;
    const set = await platform.ssh(['config', 'set', app, `NPM_TOKEN=${secret}`, '--no-deploy']);
    expect(set.exitCode).toBe(0);
    const dockerfile = readFileSync(join(repo, 'Dockerfile'), 'utf8').replace(
      'USER node',
      // BuildKit keys a step's cache without its secrets' values, as Docker does: the nonce keeps an earlier run's
      // layer from answering for this one.
      `RUN --mount=type=secret,id=NPM_TOKEN echo ${Date.now()} > /nonce && wc -c < /run/secrets/NPM_TOKEN > /token-length\nUSER node`,
    );
    const sha = await commitFiles(repo, { Dockerfile: dockerfile }, 'secret');
    const push = await git('push', 'swarmlet', 'master');
    expect(push.exitCode).toBe(0);
    expect(push.all).not.toContain(secret);
    const image = `127.0.0.1:${platform.registryPort}/${app}-web:${sha}`;
    const length = await execa('docker', ['run', '--rm', '--entrypoint', 'cat', image, '/token-length']);
    expect(length.stdout.trim()).toBe(String(secret.length));
    const saved = join(work, 'saved.tar');
    await execa('docker', ['save', '-o', saved, image]);
    const found = await execa('grep', ['-c', '-F', '--binary-files=text', secret, saved], { reject: false });
    expect(found.exitCode).toBe(1);
    expect(found.stdout.trim()).toBe('0');
    const history = await execa('docker', ['history', '--no-trunc', image]);
    expect(history.stdout).not.toContain(secret);
    const deploys = await platform.ssh(['deploys', app, '--json']);
    const [newest] = JSON.parse(deploys.stdout) as { id: string }[];
    const record = await platform.ssh(['deploys', app, newest?.id ?? '']);
    expect(record.stdout).toContain('RUN --mount=type=secret,id=NPM_TOKEN');
    expect(record.stdout).not.toContain(secret);
  }, 400_000);
});
