import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { execa, type ResultPromise } from 'execa';
import { commitFiles, gitIn } from '../support/git.js';
import {
  ensureStandInImage,
  freePort,
  localCaCertificates,
  removeStack,
  repoRoot,
  requireEngine,
  waitFor,
} from '../support/docker.js';

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
  const key = join(work, 'id_ed25519');
  let docker: Docker | undefined;
  let platform: ResultPromise | undefined;
  let sshPort = 0;
  let port = 0;

  const git = (...args: string[]) =>
    gitIn(repo, args, {
      GIT_SSH_COMMAND: `ssh -i ${key} -p ${sshPort} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR`,
    });

  const served = () =>
    waitFor('the app to answer', async () => {
      const response = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
      return response?.ok ? response.text() : undefined;
    });

  beforeAll(async () => {
    docker = await requireEngine();
    await ensureStandInImage(docker, 'node');
    const [registryPort, agentPort] = [await freePort(), await freePort()];
    [sshPort, port] = [await freePort(), await freePort()];
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'pusher', '-f', key]);
    await execa('cp', [`${key}.pub`, join(work, 'authorized_keys')]);
    platform = execa('node', [join(repoRoot, 'packages/cli/dist/main.js'), 'up'], {
      env: {
        SWARMLET_DATA_DIR: join(work, 'data'),
        SWARMLET_REGISTRY_PORT: String(registryPort),
        SWARMLET_AGENT_PORT: String(agentPort),
        SWARMLET_SSH_PORT: String(sshPort),
        SWARMLET_AUTHORIZED_KEYS: join(work, 'authorized_keys'),
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
    await execa('git', ['init', '--quiet', '-b', 'master', repo]);
    await git('remote', 'add', 'swarmlet', `ssh://git@127.0.0.1:${sshPort}/${app}`);
  }, 300_000);

  afterAll(async () => {
    platform?.kill('SIGINT');
    await platform;
    await removeStack(docker, app, `swarmlet.app=${app}`);
    rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('deploys the project with BuildKit: npm ci from the lock file under bind and cache mounts', async () => {
    const files = Object.fromEntries(
      readdirSync(FIXTURE).map((name) => [name, readFileSync(join(FIXTURE, name), 'utf8')]),
    );
    await commitFiles(repo, { ...files, 'extra-ca.pem': localCaCertificates(), '.env': `PORT=${port}\n` }, 'one');
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
});
