import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { execa } from 'execa';
import { Deployer, type DeployerSettings } from '@swarmlet/deployer';
import { ensureStandInImage, freePort, localCaCertificates, waitFor } from '../test/support/docker.js';
import { startSwarmletRegistry } from '../test/support/registries.js';
import { seconds } from './measure.js';
import { MiB, seededBytes } from './seeded-data.js';

const ROUNDS = process.argv.includes('--quick') ? 1 : 2;
const LAYER_BYTES = 16 * MiB;
const PATH = '/usr/local/bin:/usr/bin:/bin';
/** The repository, seen from the compiled bench (`bench/dist/bench/`). */
const SOURCE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * The deploy pipeline against the same steps run by hand (`docker build`, `docker push`, `docker stack deploy`,
 * waiting until the service runs and answers) for the same app in the same run, each with fresh layer content so
 * neither gets the other's build cache; then a redeploy of an unchanged commit. Prints seconds and the ratio
 * pipeline / by hand (at most 1.1 is the aim).
 */
async function main(): Promise<void> {
  const docker = new Docker({ socketPath: '/var/run/docker.sock' });
  await ensureStandInImage(docker, 'busybox');
  const work = mkdtempSync(join(tmpdir(), 'swarmlet-bench-deploy-'));
  mkdirSync(join(work, 'registry'));
  const registry = await startSwarmletRegistry({ root: join(work, 'registry'), quiet: true });
  const settings: DeployerSettings = {
    workDir: join(work, 'work'),
    historyDir: join(work, 'deploys'),
    appSettingsDir: join(work, 'apps'),
    registry: registry.host,
    dockerConfig: join(work, 'docker-config'),
    rootDomain: 'localhost',
    username: 'bench',
    traefikNetwork: 'traefik-public',
    version: 'latest',
    publishMode: 'host',
    path: PATH,
    convergeTimeoutMs: 180_000,
    entrypointTimeoutMs: 60_000,
    concurrency: 1,
  };
  const deployer = new Deployer(docker, settings);
  mkdirSync(join(work, 'docker-config'));
  writeFileSync(join(work, 'docker-config', 'config.json'), '{}');
  const stacks: string[] = [];
  const rows: [string, number][] = [];
  const nodeRows: [string, number][] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const byHand = await project(work, `hand-${round}`, await freePort());
      stacks.push(byHand.app);
      const handSeconds = await seconds(() => deployByHand(docker, registry.host, byHand, work));
      const piped = await project(work, `pipe-${round}`, await freePort());
      stacks.push(piped.app);
      const pipelineSeconds = await seconds(async () => {
        const result = await deployer.deploy(
          { app: piped.app, repository: piped.dir, commit: piped.commit, branch: 'master' },
          () => undefined,
        );
        if (!result.ok) throw new Error(`pipeline deploy failed: ${result.error ?? ''}`);
        await answers(piped.port);
      });
      const redeploySeconds = await seconds(async () => {
        const result = await deployer.deploy(
          { app: piped.app, repository: piped.dir, commit: piped.commit, branch: 'master' },
          () => undefined,
        );
        if (!result.ok) throw new Error(`redeploy failed: ${result.error ?? ''}`);
      });
      rows.push(
        [`round ${round}: by hand`, handSeconds],
        [`round ${round}: pipeline`, pipelineSeconds],
        [`round ${round}: redeploy of the same commit`, redeploySeconds],
      );
    }
    await ensureStandInImage(docker, 'node');
    for (const builder of ['buildkit', 'classic'] as const) {
      const node = await nodeProject(work, builder, await freePort());
      stacks.push(node.app);
      const viaBuilder = new Deployer(docker, { ...settings, builder: builder === 'buildkit' ? 'auto' : 'classic' });
      const deployNode = async (commit: string, greeting: string) => {
        const result = await viaBuilder.deploy(
          { app: node.app, repository: node.dir, commit, branch: 'master' },
          () => undefined,
        );
        if (!result.ok) throw new Error(`${builder} deploy failed: ${result.error ?? ''}`);
        await answers(node.port, greeting);
        const [record] = await viaBuilder.history.list(node.app);
        return (record?.steps.find((entry) => entry.step === 'build')?.ms ?? Number.NaN) / 1000;
      };
      let build = 0;
      nodeRows.push([
        `${builder}: first deploy`,
        await seconds(async () => void (build = await deployNode(node.commit, 'first'))),
      ]);
      nodeRows.push([`${builder}: first deploy, its build step`, build]);
      const second = await commitChange(node.dir, { 'greeting.js': "export const greeting = 'second';\n" });
      nodeRows.push([
        `${builder}: second deploy, one file changed`,
        await seconds(async () => void (build = await deployNode(second, 'second'))),
      ]);
      nodeRows.push([`${builder}: second deploy, its build step`, build]);
    }
  } finally {
    for (const stack of stacks) await execa('docker', ['stack', 'rm', stack], { reject: false });
    await registry.stop();
    rmSync(work, { recursive: true, force: true });
  }
  console.log('\ndeploy of a busybox app with a 16 MiB layer, on this machine\n');
  for (const [name, value] of rows) console.log(`${name.padEnd(44)} ${value.toFixed(2).padStart(8)} s`);
  const total = (kind: string) =>
    rows.filter(([name]) => name.endsWith(kind)).reduce((sum, [, value]) => sum + value, 0);
  console.log(
    `\npipeline / by hand (aim at most 1.1)           ${(total('pipeline') / total('by hand')).toFixed(2).padStart(8)}`,
  );
  console.log('\ndeploy of a docker init-style Node project (npm ci, multi-stage), BuildKit vs classic builder\n');
  for (const [name, value] of nodeRows) console.log(`${name.padEnd(44)} ${value.toFixed(2).padStart(8)} s`);
  const node = (name: string) => nodeRows.find(([row]) => row === name)?.[1] ?? Number.NaN;
  const ratio = (kind: string) => (node(`buildkit: ${kind}`) / node(`classic: ${kind}`)).toFixed(2).padStart(8);
  console.log(`\nBuildKit / classic, first deploy               ${ratio('first deploy')}`);
  console.log(`BuildKit / classic, second deploy              ${ratio('second deploy, one file changed')}`);
  console.log(`BuildKit / classic, first build step           ${ratio('first deploy, its build step')}`);
  console.log(`BuildKit / classic, second build step          ${ratio('second deploy, its build step')}`);
}

/** The classic builder's form of the fixture's `npm ci` stage: the manifests copied in, no mounts. */
const CLASSIC_DEPS_STAGE = [
  'FROM base AS deps',
  'COPY package.json package-lock.json extra-ca.pem ./',
  'RUN NODE_EXTRA_CA_CERTS=/usr/src/app/extra-ca.pem npm ci --omit=dev --no-audit --no-fund',
].join('\n');

/**
 * The end-to-end tests' docker init-style Node project as a fresh repository, with a package name of its own so
 * neither builder reuses the other's (or an earlier run's) dependency layer; for the classic builder its
 * `RUN --mount` stage is written the classic way.
 */
async function nodeProject(work: string, builder: 'buildkit' | 'classic', port: number): Promise<Project> {
  const fixture = join(SOURCE_ROOT, 'test', 'e2e', 'fixtures', 'buildkit-node');
  const app = `bench-node-${builder}-${process.pid}`;
  const dir = join(work, app);
  mkdirSync(dir);
  for (const name of readdirSync(fixture)) writeFileSync(join(dir, name), readFileSync(join(fixture, name)));
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...manifest, name: `${app}-${Date.now()}` }, null, 2));
  writeFileSync(join(dir, 'extra-ca.pem'), localCaCertificates());
  writeFileSync(join(dir, '.env'), `PORT=${port}\n`);
  writeFileSync(join(dir, 'greeting.js'), "export const greeting = 'first';\n");
  if (builder === 'classic') {
    const dockerfile = readFileSync(join(dir, 'Dockerfile'), 'utf8');
    writeFileSync(
      join(dir, 'Dockerfile'),
      dockerfile.replace(/FROM base AS deps\n(.*\\\n)*.*npm ci.*\n/, `${CLASSIC_DEPS_STAGE}\n`),
    );
  }
  const env = { GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' };
  await execa('git', ['init', '--quiet', '-b', 'master'], { cwd: dir });
  await execa('git', ['add', '-A'], { cwd: dir });
  await execa('git', ['commit', '--quiet', '-m', 'bench'], { cwd: dir, env });
  return { app, dir, commit: (await execa('git', ['rev-parse', 'HEAD'], { cwd: dir })).stdout, port };
}

async function commitChange(dir: string, files: Record<string, string>): Promise<string> {
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  const env = { GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' };
  await execa('git', ['commit', '--quiet', '-am', 'change'], { cwd: dir, env });
  return (await execa('git', ['rev-parse', 'HEAD'], { cwd: dir })).stdout;
}

interface Project {
  app: string;
  dir: string;
  commit: string;
  port: number;
}

async function project(work: string, name: string, port: number): Promise<Project> {
  const app = `bench-${name}-${process.pid}`;
  const dir = join(work, app);
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'Dockerfile'),
    'FROM busybox\nCOPY layer.bin /www/layer.bin\nCOPY index.html /www/index.html\n',
  );
  writeFileSync(join(dir, 'layer.bin'), seededBytes(`${app}-${Date.now()}`, LAYER_BYTES));
  writeFileSync(join(dir, 'index.html'), `${app}\n`);
  writeFileSync(
    join(dir, 'docker-compose.yml'),
    [
      'version: "3.8"',
      'services:',
      '  web:',
      '    build: .',
      '    image: ${SWARMLET_REGISTRY}/${APP_NAME}-web',
      '    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]',
      '    ports:',
      `      - { target: 8080, published: ${port}, protocol: tcp, mode: host }`,
      '',
    ].join('\n'),
  );
  const env = { GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' };
  await execa('git', ['init', '--quiet', '-b', 'master'], { cwd: dir });
  await execa('git', ['add', '-A'], { cwd: dir });
  await execa('git', ['commit', '--quiet', '-m', 'bench'], { cwd: dir, env });
  return { app, dir, commit: (await execa('git', ['rev-parse', 'HEAD'], { cwd: dir })).stdout, port };
}

async function deployByHand(docker: Docker, registry: string, project: Project, work: string): Promise<void> {
  const image = `${registry}/${project.app}-web:${project.commit}`;
  await execa('docker', ['build', '--quiet', '-t', image, project.dir], { env: { DOCKER_BUILDKIT: '0' } });
  await execa('docker', ['push', '--quiet', image]);
  const file = join(work, `${project.app}.yml`);
  writeFileSync(
    file,
    [
      'version: "3.8"',
      'services:',
      '  web:',
      `    image: ${image}`,
      '    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]',
      '    ports:',
      `      - { target: 8080, published: ${project.port}, protocol: tcp, mode: host }`,
      '',
    ].join('\n'),
  );
  await execa('docker', [
    'stack',
    'deploy',
    '--with-registry-auth',
    '--prune',
    '--resolve-image',
    'always',
    '-c',
    file,
    project.app,
  ]);
  await waitFor(
    'the hand-deployed service to run',
    async () => {
      const tasks = (await docker.listTasks({ filters: { service: [`${project.app}_web`] } })) as {
        Status?: { State?: string };
      }[];
      return tasks.some((task) => task.Status?.State === 'running') ? true : undefined;
    },
    { timeoutMs: 180_000 },
  );
  await answers(project.port);
}

async function answers(port: number, containing = ''): Promise<void> {
  await waitFor(
    'the app to answer',
    async () => {
      const response = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
      return response?.ok && (await response.text()).includes(containing) ? true : undefined;
    },
    {
      timeoutMs: 180_000,
    },
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
