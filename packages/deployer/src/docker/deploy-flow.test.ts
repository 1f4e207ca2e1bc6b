import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import tar from 'tar-fs';
import { ensureStandInImage, freePort, removeStack, requireEngine, waitFor } from '../../../../test/support/docker.js';
import { startSwarmletRegistry, writeHtpasswd, type TestRegistry } from '../../../../test/support/registries.js';
import { waitForStack } from './converge.js';
import { writeDockerConfig } from './credentials.js';
import { buildImage, pushImage, type RegistryAuth } from './images.js';
import { DockerStreamError } from './progress.js';
import { deployStack } from './stack.js';

/**
 * The Docker half of a deploy against the real engine, swarm and our registry: build from a tar context, push
 * with credentials, `docker stack deploy`, follow convergence, and a broken new version rolled back while the
 * old one keeps serving.
 */
describe('build, push, stack deploy and convergence', () => {
  const suffix = `${process.pid}-${Date.now()}`;
  const stack = `swarmlet-flow-${process.pid}`;
  const work = mkdtempSync(join(tmpdir(), 'swarmlet-flow-'));
  const password = `pw-${suffix}`;
  let docker: Docker | undefined;
  let registry: TestRegistry | undefined;
  let auth: RegistryAuth;
  let port = 0;
  const lines: string[] = [];
  const collect = (line: string) => {
    lines.push(line);
  };

  const engine = (): Docker => {
    if (!docker) throw new Error('no engine');
    return docker;
  };

  const context = (files: Record<string, string>): NodeJS.ReadableStream => {
    const dir = mkdtempSync(join(work, 'context-'));
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    return tar.pack(dir);
  };

  const composeFor = (image: string, file: string): string => {
    const path = join(work, file);
    writeFileSync(
      path,
      [
        'version: "3.8"',
        'services:',
        '  web:',
        `    image: ${image}`,
        '    ports:',
        `      - { target: 8080, published: ${port}, protocol: tcp, mode: host }`,
        '    deploy:',
        '      replicas: 1',
        '      update_config: { order: stop-first, failure_action: rollback, monitor: 5s }',
        '      rollback_config: { order: stop-first }',
        '      restart_policy: { condition: on-failure, delay: 1s }',
        '      labels: { swarmlet.managed: "true", swarmlet.app: flow }',
        '',
      ].join('\n'),
    );
    return path;
  };

  beforeAll(async () => {
    docker = await requireEngine();
    await ensureStandInImage(docker, 'busybox');
    port = await freePort();
    mkdirSync(join(work, 'registry'));
    registry = await startSwarmletRegistry({
      root: join(work, 'registry'),
      htpasswd: writeHtpasswd(join(work, 'htpasswd'), { deployer: password }),
    });
    auth = { username: 'deployer', password, serveraddress: registry.host };
  }, 120_000);

  afterAll(async () => {
    await removeStack(docker, stack, `swarmlet.test.flow=${suffix}`);
    await registry?.stop();
    rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('reports a failing build as an error that names the step, the service and the cause', async () => {
    const failing = buildImage(
      engine(),
      {
        context: context({ Dockerfile: 'FROM busybox\nRUN echo about to fail && exit 3\n' }),
        dockerfile: 'Dockerfile',
        tag: `${registry?.host ?? ''}/flow-web:broken-${suffix}`,
        labels: { 'swarmlet.test': 'true', 'swarmlet.test.flow': suffix },
      },
      'web',
      collect,
    );
    await expect(failing).rejects.toThrow(DockerStreamError);
    await expect(failing).rejects.toThrow(/^build of web failed: .*returned a non-zero code: 3/);
    expect(lines).toContain('about to fail');
  });

  it('builds, pushes with credentials, deploys, then rolls a broken version back while the old one serves', async () => {
    const host = registry?.host ?? '';
    const build = async (version: string, command: string) => {
      const tag = `${host}/flow-web:${version}-${suffix}`;
      await buildImage(
        engine(),
        {
          context: context({
            Dockerfile: `FROM busybox\nRUN mkdir /www && echo ${version} > /www/index.html\nCMD ${command}\n`,
          }),
          dockerfile: 'Dockerfile',
          tag,
          labels: { 'swarmlet.test': 'true', 'swarmlet.test.flow': suffix },
          buildArgs: { VERSION: version },
        },
        'web',
        collect,
      );
      return tag;
    };
    const good = await build('v1', '["httpd", "-f", "-p", "8080", "-h", "/www"]');
    await expect(pushImage(engine(), good, { ...auth, password: 'wrong' }, collect)).rejects.toThrow(
      /^push of .* failed/,
    );
    const digest = await pushImage(engine(), good, auth, collect);
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const manifest = await fetch(`http://${host}/v2/flow-web/manifests/v1-${suffix}`, {
      method: 'HEAD',
      headers: {
        Authorization: `Basic ${Buffer.from(`deployer:${password}`).toString('base64')}`,
        Accept: 'application/vnd.docker.distribution.manifest.v2+json',
      },
    });
    expect(manifest.headers.get('docker-content-digest')).toBe(digest);

    const env = { PATH: '/usr/local/bin:/usr/bin:/bin' };
    const firstDeploy = new Date(Date.now() - 1000);
    await deployStack(
      {
        name: stack,
        composeFile: composeFor(good, 'v1.yml'),
        dockerConfig: await writeDockerConfig(join(work, 'docker-config'), auth),
        env,
      },
      collect,
    );
    const first = await waitForStack(engine(), stack, { timeoutMs: 120_000, since: firstDeploy }, () => undefined);
    expect(first).toEqual({ ok: true, services: [{ service: `${stack}_web`, running: 1, desired: 1 }], outages: [] });
    const served = await waitFor('v1 to answer', async () => {
      const response = await fetch(`http://127.0.0.1:${port}/`);
      return response.ok ? response.text() : undefined;
    });
    expect(served).toBe('v1\n');

    const broken = await build('v2', '["sh", "-c", "echo crashing; exit 1"]');
    await pushImage(engine(), broken, auth, collect);
    const secondDeploy = new Date(Date.now() - 1000);
    await deployStack(
      {
        name: stack,
        composeFile: composeFor(broken, 'v2.yml'),
        dockerConfig: await writeDockerConfig(join(work, 'docker-config'), auth),
        env,
      },
      collect,
    );
    const second = await waitForStack(engine(), stack, { timeoutMs: 180_000, since: secondDeploy }, () => undefined);
    expect(second).toMatchObject({ ok: false, service: `${stack}_web`, rolledBack: true });
    expect(second.ok ? '' : second.reason).toMatch(/exit code 1|non-zero exit/);
    const after = await waitFor('v1 to answer again', async () => {
      const response = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
      return response?.ok ? response.text() : undefined;
    });
    expect(after).toBe('v1\n');
  }, 400_000);
});
