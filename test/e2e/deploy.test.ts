import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { execa } from 'execa';
import { closeServer } from '@swarmlet/common';
import {
  AppOperations,
  createAgentApp,
  Deployer,
  readDeployEvents,
  writeDockerConfig,
  type DeployResult,
} from '@swarmlet/deployer';
import { commitFiles } from '../support/git.js';
import { ensureStandInImage, freePort, removeStack, requireEngine, waitFor } from '../support/docker.js';
import { startSwarmletRegistry, writeHtpasswd, type TestRegistry } from '../support/registries.js';

const DOCKERFILE = 'FROM busybox\nCOPY index.html /www/index.html\n';
const COMPOSE = `version: "3.8"
services:
  web:
    build: .
    image: \${SWARMLET_REGISTRY}/\${APP_NAME}-web
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    environment:
      GREETING: \${GREETING}
      BUILD_LABEL: \${BUILD_LABEL}
      SITE: https://\${APP_NAME}.\${ROOT_DOMAIN}
    ports:
      - target: 8080
        published: \${PORT:?set PORT in .env}
        protocol: tcp
        mode: host
    deploy:
      labels:
        traefik.enable: "true"
        traefik.http.routers.web-${process.pid}.rule: Host(\`\${APP_NAME}.\${ROOT_DOMAIN}\`)
`;

/**
 * A deploy as the agent runs it, through its HTTP API: a sample app with `.env`, an `entrypoint` and a compose
 * file using the platform's variables is built from the busybox stand-in, pushed to our registry with
 * credentials, deployed on the swarm, updated, rolled back, and refused when broken while the running version
 * keeps serving.
 */
describe('deploying an app through the agent', () => {
  const app = `shop-${process.pid}`;
  const work = mkdtempSync(join(tmpdir(), 'swarmlet-deploy-'));
  const repo = join(work, 'repo');
  const token = `token-${Date.now()}`;
  const password = `pw-${Date.now()}`;
  let docker: Docker | undefined;
  let registry: TestRegistry | undefined;
  let agent: Server | undefined;
  let agentUrl = '';
  let port = 0;
  const deployIds: string[] = [];

  const commit = (files: Record<string, string>, message: string) => commitFiles(repo, files, message);

  const deploy = async (sha: string, lines: string[] = []): Promise<DeployResult> => {
    const response = await fetch(`${agentUrl}/v1/apps/${app}/deploys`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ repository: repo, commit: sha, branch: 'master' }),
    });
    expect(response.status).toBe(200);
    if (!response.body) throw new Error('no body');
    return readDeployEvents(response.body, (line) => lines.push(line));
  };

  const served = () =>
    waitFor('the app to answer', async () => {
      const response = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
      return response?.ok ? response.text() : undefined;
    });

  beforeAll(async () => {
    docker = await requireEngine();
    await ensureStandInImage(docker, 'busybox');
    port = await freePort();
    mkdirSync(join(work, 'registry'));
    registry = await startSwarmletRegistry({
      root: join(work, 'registry'),
      htpasswd: writeHtpasswd(join(work, 'htpasswd'), { deployer: password }),
    });
    const auth = { username: 'deployer', password, serveraddress: registry.host };
    const deployer = new Deployer(docker, {
      workDir: join(work, 'data', 'work'),
      historyDir: join(work, 'data', 'deploys'),
      appSettingsDir: join(work, 'data', 'apps'),
      registry: registry.host,
      registryAuth: auth,
      dockerConfig: await writeDockerConfig(join(work, 'data', 'docker-config'), auth),
      rootDomain: 'example.test',
      username: 'admin',
      traefikNetwork: 'traefik-public',
      version: 'latest',
      publishMode: 'host',
      path: '/usr/local/bin:/usr/bin:/bin',
      convergeTimeoutMs: 120_000,
      entrypointTimeoutMs: 30_000,
      concurrency: 2,
    });
    const operations = new AppOperations(docker, deployer, {
      registry: registry.host,
      registryAuth: auth,
      workDir: join(work, 'data', 'work'),
      path: '/usr/local/bin:/usr/bin:/bin',
      convergeTimeoutMs: 120_000,
      rootDomain: 'localhost',
    });
    agent = createServer(createAgentApp(docker, { deployer, operations }, token).callback());
    await new Promise<void>((resolve) => agent?.listen(0, '127.0.0.1', resolve));
    agentUrl = `http://127.0.0.1:${(agent.address() as AddressInfo).port}`;
    await execa('git', ['init', '--quiet', '-b', 'master', repo]);
  }, 120_000);

  afterAll(async () => {
    await removeStack(docker, app, `swarmlet.app=${app}`);
    if (agent) await closeServer(agent);
    await registry?.stop();
    rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('refuses requests without the token', async () => {
    const response = await fetch(`${agentUrl}/v1/apps`, { headers: { Authorization: 'Bearer wrong' } });
    expect(response.status).toBe(401);
  });

  it('deploys the first commit: environment, build, push, stack, URL', async () => {
    const sha = await commit(
      {
        Dockerfile: DOCKERFILE,
        'index.html': 'version one\n',
        'docker-compose.yml': COMPOSE,
        '.env': `GREETING=hello\nPORT=${port}\n`,
        entrypoint:
          'echo "computing the build label"\nexport BUILD_LABEL="${APP_NAME}-$(echo "$GIT_SHA" | cut -c1-7)"\n',
      },
      'one',
    );
    const lines: string[] = [];
    const result = await deploy(sha, lines);
    expect(result.error).toBeUndefined();
    expect(result).toMatchObject({ ok: true, status: 'succeeded', urls: [`https://${app}.example.test`] });
    deployIds.push(result.deployId ?? '');
    expect(lines).toEqual(
      expect.arrayContaining(['computing the build label', `deployed to https://${app}.example.test`]),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^#\d+ \[1\/\d+\] FROM docker\.io\/library\/busybox/));
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^image web: .*/${app}-web:${sha}@sha256:[0-9a-f]{64}$`)),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^steps: checkout [\d.]+ s, environment [\d.]+ s, compose [\d.]+ s, policy [\d.]+ s, build [\d.]+ s, push [\d.]+ s, deploy [\d.]+ s, converge [\d.]+ s$/,
      ),
    );
    expect(await served()).toBe('version one\n');

    if (!docker) throw new Error('no engine');
    const service = (await docker.getService(`${app}_web`).inspect()) as {
      Spec: { Labels: Record<string, string>; TaskTemplate: { ContainerSpec: { Env: string[]; Image: string } } };
    };
    expect(service.Spec.TaskTemplate.ContainerSpec.Env).toEqual(
      expect.arrayContaining([
        'GREETING=hello',
        `BUILD_LABEL=${app}-${sha.slice(0, 7)}`,
        `SITE=https://${app}.example.test`,
      ]),
    );
    expect(service.Spec.TaskTemplate.ContainerSpec.Image).toMatch(
      new RegExp(`^${registry?.host ?? ''}/${app}-web:${sha}@sha256:`),
    );
    expect(service.Spec.Labels).toMatchObject({ 'swarmlet.managed': 'true', 'swarmlet.app': app });
    const manifest = await fetch(`${registry?.url ?? ''}/v2/${app}-web/manifests/${sha}`, {
      method: 'HEAD',
      headers: { Authorization: `Basic ${Buffer.from(`deployer:${password}`).toString('base64')}` },
    });
    expect(manifest.status).toBe(200);
  }, 300_000);

  it('rolls to a second commit, and rollback brings the first back', async () => {
    const sha = await commit({ 'index.html': 'version two\n' }, 'two');
    const result = await deploy(sha);
    expect(result.error).toBeUndefined();
    expect(result.ok).toBe(true);
    deployIds.push(result.deployId ?? '');
    await waitFor('version two', async () => ((await served()) === 'version two\n' ? true : undefined));

    const response = await fetch(`${agentUrl}/v1/apps/${app}/rollback`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      body: JSON.stringify({ deploy: deployIds[0] }),
    });
    if (!response.body) throw new Error('no body');
    expect(await readDeployEvents(response.body, () => undefined)).toMatchObject({ ok: true, status: 'succeeded' });
    await waitFor('version one again', async () => ((await served()) === 'version one\n' ? true : undefined));
  }, 300_000);

  it('fails a broken build and a crashing container with the cause, while the running version keeps serving', async () => {
    const broken = await commit({ Dockerfile: 'FROM busybox\nRUN echo "cannot build" && exit 3\n' }, 'broken build');
    const build = await deploy(broken);
    expect(build).toMatchObject({ ok: false, status: 'failed' });
    expect(build.error).toMatch(/^build: build of web failed: .*exit code: 3/);
    expect(await served()).toBe('version one\n');

    const crashing = await commit(
      {
        Dockerfile: DOCKERFILE,
        'docker-compose.yml': COMPOSE.replace(
          'command: ["httpd", "-f", "-p", "8080", "-h", "/www"]',
          'command: ["false"]',
        ),
      },
      'crashes at start',
    );
    const crash = await deploy(crashing);
    expect(crash).toMatchObject({ ok: false, status: 'failed' });
    expect(crash.error).toMatch(/converge: service .*_web failed: .*previous version was restored/);
    expect(crash.error).toMatch(/on node \S+: /);
    expect(await served()).toBe('version one\n');

    const nowhere = await commit(
      {
        Dockerfile: DOCKERFILE,
        'docker-compose.yml': COMPOSE.replace(
          '    deploy:\n',
          `    deploy:\n      placement:\n        constraints: ["node.labels.nowhere-${process.pid} == yes"]\n`,
        ),
      },
      'a constraint no node meets',
    );
    const stuck = await deploy(nowhere);
    expect(stuck).toMatchObject({ ok: false, status: 'failed' });
    expect(stuck.error).toMatch(/converge: service .*_web failed: no node can run its task: no suitable node/);
    expect(stuck.error).toMatch(/rolled back \S+_web to the previous version/);
    expect(await served()).toBe('version one\n');
  }, 500_000);

  it('refuses a malformed compose file, .env or missing variable before building', async () => {
    for (const [files, cause] of [
      [{ 'docker-compose.yml': 'services:\n  web: [\n' }, /compose: docker-compose\.yml: invalid YAML at line/],
      [
        { 'docker-compose.yml': COMPOSE, '.env': 'GREETING=hi\nnot an entry\n' },
        /environment: \.env line 2: expected NAME=value/,
      ],
      [{ '.env': 'GREETING=hi\n' }, /compose: services\.web\.ports\[0\]\.published: PORT: set PORT in \.env/],
    ] as const) {
      const lines: string[] = [];
      const result = await deploy(await commit(files, 'bad'), lines);
      expect(result.ok).toBe(false);
      expect(result.error).toMatch(cause);
      expect(lines).not.toContain('-----> build');
    }
  }, 120_000);

  it('runs concurrent deploys of one app one after the other, and supersedes a queued one', async () => {
    const sha = await commit(
      { 'docker-compose.yml': COMPOSE, '.env': `GREETING=hello\nPORT=${port}\n`, 'index.html': 'version three\n' },
      'three',
    );
    const lines: string[][] = [[], [], []];
    const results = await Promise.all(lines.map((log) => deploy(sha, log)));
    const statuses = results.map((result) => result.status).sort();
    expect(statuses).toEqual(['succeeded', 'succeeded', 'superseded']);
    expect(lines.flat()).toContain(`another deploy of ${app} is under way: waiting for it to finish`);
    const list = (await (
      await fetch(`${agentUrl}/v1/apps/${app}/deploys`, { headers: { Authorization: `Bearer ${token}` } })
    ).json()) as {
      deploys: { status: string; startedAt: string; finishedAt: string }[];
    };
    const [latest, before] = list.deploys;
    expect(latest?.status).toBe('succeeded');
    expect(before?.status).toBe('succeeded');
    expect(new Date(latest?.startedAt ?? 0).getTime()).toBeGreaterThanOrEqual(
      new Date(before?.finishedAt ?? 0).getTime(),
    );
  }, 400_000);
});
