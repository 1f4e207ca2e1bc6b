import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { execa } from 'execa';
import { ensureStandInImage, freePort, removeStack, requireEngine, waitFor } from '../support/docker.js';
import { commitFiles } from '../support/git.js';
import { startLocalPlatform, type LocalPlatform } from '../support/platform.js';

/** Two services: `web` serves its build's index.html and, at /greeting.txt, the config value GREETING it started
 * with; `worker` writes a line every second, keeps a named volume, and reads an env_file and a file secret given by
 * paths relative to the project. */
const COMPOSE = `services:
  web:
    build: .
    command: ["sh", "-c", "echo \\"$$GREETING\\" > /www/greeting.txt && exec httpd -f -p 8080 -h /www"]
    environment:
      GREETING: \${GREETING}
    ports:
      - target: 8080
        published: \${PORT}
        mode: host
    deploy:
      labels:
        traefik.enable: "true"
        traefik.http.routers.\${APP_NAME}.rule: Host(\`\${APP_NAME}.\${ROOT_DOMAIN}\`)
  worker:
    build: .
    command: ["sh", "-c", "while true; do echo tick; sleep 1; done"]
    env_file: ./worker.env
    secrets:
      - token
    volumes:
      - data:/data
volumes:
  data: {}
secrets:
  token:
    file: ./token.txt
`;

interface ServiceSpec {
  Spec: {
    TaskTemplate: { ContainerSpec: { Image: string; Env?: string[] } };
    Mode: { Replicated?: { Replicas: number } };
  };
}

/**
 * The day-2 verbs end to end, as a user runs them: the real OpenSSH client against `swarmlet up` (and the same
 * verbs through the CLI), on a pushed app with two services.
 */
describe('operating an app over SSH and with the CLI', () => {
  const work = mkdtempSync(join(tmpdir(), 'swarmlet-day2-'));
  const app = `ops-${process.pid}`;
  const repo = join(work, 'app');
  let docker: Docker;
  let platform: LocalPlatform;
  let port = 0;
  let firstCommit = '';

  const ssh = (...args: string[]) => platform.ssh(args);
  const get = async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`).catch(() => undefined);
    return response?.ok ? response.text() : undefined;
  };
  const serving = (path: string, text: string) =>
    waitFor(`${path} to serve ${JSON.stringify(text)}`, async () => ((await get(path)) === text ? true : undefined), {
      timeoutMs: 120_000,
    });
  const image = async (service: string) =>
    ((await docker.getService(`${app}_${service}`).inspect()) as ServiceSpec).Spec.TaskTemplate.ContainerSpec.Image;
  const push = () => platform.git(repo, 'push', 'swarmlet', 'master');
  /** Waits until every running task of the worker reads `text` from its secret `token`. */
  const workerSecretIs = (text: string) =>
    waitFor(`the worker to read ${JSON.stringify(text)} from its secret`, async () => {
      const containers = await docker.listContainers({
        filters: { label: [`com.docker.swarm.service.name=${app}_worker`] },
      });
      const read = await Promise.all(
        containers.map((container) =>
          execa('docker', ['exec', container.Id, 'cat', '/run/secrets/token'], { reject: false }),
        ),
      );
      return read.length > 0 && read.every((result) => result.stdout === text) ? true : undefined;
    });

  beforeAll(async () => {
    docker = await requireEngine();
    await ensureStandInImage(docker, 'busybox');
    platform = await startLocalPlatform(work);
    port = await freePort();
    await platform.initRepository(repo, app);
    firstCommit = await commitFiles(
      repo,
      {
        Dockerfile: 'FROM busybox\nCOPY index.html /www/index.html\n',
        'index.html': 'version one\n',
        'docker-compose.yml': COMPOSE,
        '.env': `PORT=${port}\nGREETING=from dotenv\n`,
        'worker.env': 'FROM_ENV_FILE=read from worker.env\n',
        'token.txt': 'the secret file\n',
      },
      'one',
    );
    const pushed = await push();
    if (pushed.exitCode !== 0) throw new Error(`the first push failed: ${pushed.all}`);
    await serving('/greeting.txt', 'from dotenv\n');
  }, 300_000);

  afterAll(async () => {
    await platform.stop();
    await removeStack(docker, app, `swarmlet.app=${app}`);
    await docker
      .getVolume(`${app}_data`)
      .remove()
      .catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }, 180_000);

  it('help lists the verbs; apps and status show the app, its services and tasks, also as JSON', async () => {
    const help = await ssh('help');
    expect(help.exitCode).toBe(0);
    for (const verb of ['apps', 'status APP', 'logs APP', 'config set APP', 'scale APP', 'destroy APP', 'keys list']) {
      expect(help.stdout).toContain(verb);
    }
    const apps = await ssh('apps');
    expect(apps.exitCode).toBe(0);
    expect(apps.stdout).toMatch(/^APP\s+SERVICES\s+COMMIT\s+BRANCH\s+DEPLOYED\s+LAST\s+URLS$/m);
    expect(apps.stdout).toMatch(
      new RegExp(`^${app}\\s+2/2\\s+${firstCommit.slice(0, 12)}\\s+master\\s+\\S+ \\S+\\s+succeeded$`, 'm'),
    );
    expect(apps.stdout).toMatch(/^registry \(core\)/m);
    const json = JSON.parse((await ssh('apps', '--json')).stdout) as { app: string; running: number }[];
    expect(json.find((entry) => entry.app === app)).toMatchObject({ running: 2, desired: 2 });
    const status = await ssh('status', app);
    expect(status.exitCode).toBe(0);
    expect(status.stdout).toContain(`deployed   ${firstCommit.slice(0, 12)} (master)`);
    expect(status.stdout).toContain('deploying  no');
    expect(status.stdout).toMatch(
      new RegExp(`^web\\s+\\S+/${app}-web:${firstCommit}@sha256:[0-9a-f]{64}\\s+1/1\\s+compose file$`, 'm'),
    );
    expect(status.stdout).toMatch(/^worker\.1\s+\S+\s+running\s+\d+[smhd]\s*$/m);
    const statusJson = JSON.parse((await ssh('status', app, '--json')).stdout) as { services: { service: string }[] };
    expect(statusJson.services.map((service) => service.service)).toEqual(['web', 'worker']);
  }, 120_000);

  it('resolves env_file and file: secrets against the project, as docker stack deploy -c in the checkout would', async () => {
    const [container] = await docker.listContainers({
      filters: { label: [`com.docker.swarm.service.name=${app}_worker`] },
    });
    const inside = await execa('docker', [
      'exec',
      container?.Id ?? '',
      'sh',
      '-c',
      'echo "$FROM_ENV_FILE" && cat /run/secrets/token',
    ]);
    expect(inside.stdout).toBe('read from worker.env\nthe secret file');
  }, 60_000);

  it('config set redeploys without a rebuild and the value reaches no log, record or API answer', async () => {
    const before = await image('web');
    const secret = `s3cr3t-${process.pid} with spaces $HOME "quotes" = sign`;
    const set = await ssh('config', 'set', app, `'GREETING=${secret}'`);
    expect(set.exitCode).toBe(0);
    expect(set.stdout).toContain(`config of ${app}: set GREETING`);
    expect(set.stdout).toContain('reusing the images already built');
    expect(set.stdout).not.toContain('-----> build');
    expect(set.all).not.toContain(secret);
    expect(await get('/greeting.txt')).toBe(`${secret}\n`);
    expect(await image('web')).toBe(before);
    const show = await ssh('config', 'show', app);
    expect(show.stdout).toBe('GREETING=********');
    expect((await ssh('config', 'show', app, '--reveal')).stdout).toBe(`GREETING=${secret}`);
    expect((await ssh('config', 'get', app, 'GREETING')).stdout).toBe(secret);
    const deploys = await ssh('deploys', app, '--json');
    expect(deploys.stdout).not.toContain(secret);
    const ids = (JSON.parse(deploys.stdout) as { id: string; trigger: string; by: string }[]).map(
      (record) => record.id,
    );
    expect((JSON.parse(deploys.stdout) as { trigger: string; by: string }[])[0]).toMatchObject({
      trigger: 'config',
      by: expect.stringMatching(/^pusher SHA256:/) as unknown,
    });
    for (const id of ids) {
      const one = await ssh('deploys', app, id, '--json');
      expect(one.exitCode).toBe(0);
      expect(one.stdout).not.toContain(secret);
    }
    const status = await ssh('status', app, '--json');
    expect(status.stdout).not.toContain(secret);
    const history = join(platform.env.SWARMLET_DATA_DIR ?? '', 'deployer', 'deploys', app);
    for (const id of readdirSync(history)) {
      for (const file of readdirSync(join(history, id))) {
        expect(readFileSync(join(history, id, file), 'utf8')).not.toContain(secret);
      }
    }
    const settings = join(platform.env.SWARMLET_DATA_DIR ?? '', 'deployer', 'apps', `${app}.json`);
    expect(statSync(settings).mode & 0o777).toBe(0o600);
  }, 240_000);

  it('a multi-line value from standard input round-trips byte for byte; unset with --no-deploy', async () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB ü $X `y` \\n "z"\r\n\tindented\n-----END CERTIFICATE-----\n';
    const set = await platform.ssh(['config', 'set', app, 'CERT', '--no-deploy'], { input: pem });
    expect(set.exitCode).toBe(0);
    expect(set.stdout).toContain('saved, not deployed');
    const got = await platform.ssh(['config', 'get', app, 'CERT'], { stripFinalNewline: false });
    expect(got.stdout).toBe(pem);
    const unset = await ssh('config', 'unset', app, 'CERT', '--no-deploy');
    expect(unset.exitCode).toBe(0);
    expect((await ssh('config', 'show', app)).stdout).toBe('GREETING=********');
  }, 120_000);

  it('scale applies now, is refused where it cannot work, shows in status and survives the next push', async () => {
    const scaled = await ssh('scale', app, 'worker=2');
    expect(scaled.exitCode).toBe(0);
    expect(scaled.stdout).toContain('worker 2/2');
    const refused = await ssh('scale', app, 'web=2');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(
      /web publishes port \d+ in host mode: one task per node can hold it, and the swarm has 1 active node/,
    );
    expect((await ssh('status', app)).stdout).toMatch(/^worker\s+\S+\s+2\/2\s+2 \(scale override\)$/m);
    // A changed secret file makes a new swarm secret (swarm never changes one) instead of failing the deploy.
    await commitFiles(repo, { 'index.html': 'version two\n', 'token.txt': 'the secret file, edited\n' }, 'two');
    const pushed = await push();
    expect(pushed.exitCode).toBe(0);
    expect(pushed.all).toMatch(new RegExp(`Creating secret ${app}_token-[0-9a-f]{12}`));
    await workerSecretIs('the secret file, edited');
    expect(pushed.all).toContain('Updating service');
    expect(pushed.all).not.toContain('--detach=false');
    await serving('/', 'version two\n');
    expect(((await docker.getService(`${app}_worker`).inspect()) as ServiceSpec).Spec.Mode.Replicated?.Replicas).toBe(
      2,
    );
    expect(await get('/greeting.txt')).toMatch(/^s3cr3t-/);
  }, 300_000);

  it('logs -f shows a line written after the follow began, and hanging up leaves nothing behind', async () => {
    const agentPid = await childPid(platform.process.pid ?? 0, 'packages/cli/dist/main.js agent');
    const sockets = () => countSockets(agentPid);
    const idle = await waitFor('the agent to be idle', async () => {
      const before = await sockets();
      await new Promise((resolve) => setTimeout(resolve, 6000));
      return (await sockets()) === before ? before : undefined;
    });
    const follow = platform.ssh(['logs', app, 'worker', '-f', '--tail', '1']);
    let output = '';
    follow.all.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    await waitFor('the follow to start', () =>
      Promise.resolve(/^worker\.\d+\s+\| tick$/m.test(output) ? true : undefined),
    );
    const marker = `written-after-follow-${Date.now()}`;
    const [container] = await docker.listContainers({
      filters: { label: [`com.docker.swarm.service.name=${app}_worker`] },
    });
    await execa('docker', ['exec', container?.Id ?? '', 'sh', '-c', `echo ${marker} > /proc/1/fd/1`]);
    await waitFor('the marker in the follow', () => Promise.resolve(output.includes(marker) ? true : undefined));
    expect(await sockets()).toBeGreaterThan(idle);
    follow.kill('SIGTERM');
    await follow;
    await waitFor('the agent to close the follow', async () => ((await sockets()) <= idle ? true : undefined), {
      timeoutMs: 20_000,
    });
    const tail = await ssh('logs', app, '--tail', '3', '-t');
    expect(tail.exitCode).toBe(0);
    const times = tail.stdout
      .trim()
      .split('\n')
      .map((line) => /^worker\.[12]\s+\| (\d{4}-\S+Z) tick$/.exec(line)?.[1]);
    expect(times.length).toBeGreaterThan(0);
    expect(times).not.toContain(undefined);
    expect(times).toEqual([...times].sort());
    const since = await ssh('logs', app, 'worker', '--since', '5s');
    expect(since.stdout.trim().split('\n').length).toBeLessThan(30);
  }, 120_000);

  it('restart replaces the tasks under the update policy; deploys lists the history and shows one with its log', async () => {
    const before = await docker.listTasks({ filters: { service: [`${app}_worker`], 'desired-state': ['running'] } });
    const restart = await ssh('restart', app, 'worker');
    expect(restart.exitCode).toBe(0);
    expect(restart.stdout).toContain(`restarting ${app}_worker`);
    const after = await docker.listTasks({ filters: { service: [`${app}_worker`], 'desired-state': ['running'] } });
    expect(
      after.map((task: { ID: string }) => task.ID).filter((id) => before.some((old: { ID: string }) => old.ID === id)),
    ).toEqual([]);
    const deploys = await ssh('deploys', app);
    expect(deploys.stdout).toMatch(/^ID\s+COMMIT\s+BRANCH\s+STARTED\s+TRIGGER\s+BY\s+OUTCOME\s+STEPS$/m);
    expect(deploys.stdout).toMatch(/\s+push\s+pusher SHA256:\S+\s+succeeded\s+checkout [\d.]+s/);
    const newest = (deploys.stdout.split('\n')[1] ?? '').split(/\s+/)[0] ?? '';
    const one = await ssh('deploys', app, newest);
    expect(one.exitCode).toBe(0);
    expect(one.stdout).toContain(`id         ${newest}`);
    expect(one.stdout).toContain('compose file as deployed (config values masked):');
    expect(one.stdout).toContain("GREETING: '********'");
    expect(one.stdout).toMatch(/^log:\n-----> checkout/m);
  }, 180_000);

  it('rollback with no id returns the previous version; redeploy deploys the same commit again', async () => {
    const rollback = await ssh('rollback', app);
    expect(rollback.exitCode).toBe(0);
    expect(rollback.stdout).toContain(`rolling ${app} back to deploy`);
    expect(rollback.stdout).toContain(`(commit ${firstCommit.slice(0, 12)})`);
    await serving('/', 'version one\n');
    expect(await image('web')).toContain(`:${firstCommit}@sha256:`);
    await workerSecretIs('the secret file');
    const redeploy = await ssh('redeploy', app);
    expect(redeploy.exitCode).toBe(0);
    expect(redeploy.stdout).toContain(`deploying ${app} again at ${firstCommit.slice(0, 12)}`);
    expect(await get('/')).toBe('version one\n');
  }, 240_000);

  it('the server CLI answers like the SSH door', async () => {
    const [viaSsh, viaCli] = await Promise.all([ssh('config', 'show', app), platform.cli(['config', 'show', app])]);
    expect(viaCli.exitCode).toBe(0);
    expect(viaCli.stdout).toBe(viaSsh.stdout);
    const keys = await ssh('keys', 'list');
    expect(keys.stdout).toMatch(/^SHA256:\S+ ssh-ed25519 admin pusher$/m);
    const unknown = await platform.cli(['status', 'no-such-app']);
    expect({ code: unknown.exitCode, err: unknown.stderr }).toEqual({
      code: 1,
      err: 'swarmlet: unknown app "no-such-app": `apps` lists the apps',
    });
  }, 60_000);

  it('answers bad input with one clear line and a non-zero exit, changing nothing', async () => {
    const cases: [string[], number, RegExp][] = [
      [['status', 'nope'], 1, /^swarmlet: unknown app "nope": `apps` lists the apps$/],
      [['frobnicate', app], 2, /^swarmlet: unknown command "frobnicate": `help` lists the commands$/],
      [['config', 'set', app, '1BAD=x'], 2, /^swarmlet: invalid config key "1BAD"/],
      [['config', 'set', app, 'A=1', 'B'], 2, /^swarmlet: "B" has no '=': give KEY=VALUE/],
      [['config', 'set', app, 'LONELY'], 2, /^swarmlet: no value for LONELY on standard input/],
      [['config', 'get', app, 'MISSING'], 1, /^swarmlet: MISSING is not set for/],
      [['scale', app, 'worker=abc'], 2, /^swarmlet: "worker=abc": give SERVICE=N/],
      [['scale', app, 'nope=1'], 1, /^swarmlet: \S+ runs no service "nope" \(its services: web, worker\)$/],
      [['logs', app, '--since', 'nonsense'], 1, /^swarmlet: --since "nonsense" is neither a duration/],
      [['logs', app, 'nope'], 1, /runs no service "nope"/],
      [
        ['destroy', app],
        1,
        new RegExp(`^swarmlet: destroying ${app} removes it for good: confirm with --confirm ${app}$`),
      ],
      [['destroy', app, '--confirm', 'other'], 1, /confirm with --confirm/],
      [
        ['destroy', 'registry', '--confirm', 'registry'],
        1,
        /^swarmlet: registry is a core app of the platform: it cannot be destroyed$/,
      ],
      [['rollback', app, 'no-such-id'], 1, /no deploy no-such-id of/],
      [['status', 'x'.repeat(6000)], 1, /^swarmlet: invalid app name "x{80}": use lower-case letters/],
      [['config', 'set', app, `'BIG=${'v'.repeat(6000)}'`, '--no-deploy', 'extra'], 2, /has no '='/],
      [["'unclosed"], 2, /^swarmlet: cannot read the command: a single quote is not closed$/],
    ];
    const before = (await ssh('config', 'show', app, '--reveal')).stdout;
    for (const [args, code, message] of cases) {
      const result = await ssh(...args);
      expect({ args: args.join(' ').slice(0, 60), code: result.exitCode }).toEqual({
        args: args.join(' ').slice(0, 60),
        code,
      });
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr.trim()).toMatch(message);
    }
    expect((await ssh('config', 'show', app, '--reveal')).stdout).toBe(before);
    expect((await ssh('status', app)).exitCode).toBe(0);
  }, 180_000);

  it('a verb during a deploy: reads answer at once, a change waits for the deploy and says so', async () => {
    await commitFiles(
      repo,
      { Dockerfile: 'FROM busybox\nRUN sleep 6\nCOPY index.html /www/index.html\n', 'index.html': 'version three\n' },
      'three',
    );
    const pushing = push();
    let pushed = '';
    pushing.all.on('data', (chunk: Buffer) => {
      pushed += chunk.toString('utf8');
    });
    await waitFor('the push to build', () => Promise.resolve(pushed.includes('-----> build') ? true : undefined));
    const status = await ssh('status', app);
    expect(status.stdout).toMatch(/^deploying {2}deploy \S+ of [0-9a-f]{12} since .* \(push\)(, at [a-z]+)?$/m);
    const restart = await ssh('restart', app, 'worker');
    expect(restart.stdout).toContain(`another deploy of ${app} is under way: waiting for it to finish`);
    expect(restart.exitCode).toBe(0);
    expect((await pushing).exitCode).toBe(0);
    expect(await get('/')).toBe('version three\n');
  }, 300_000);

  it('destroy removes the stack, repository, config, history, registry tags and images, keeping volumes', async () => {
    const destroyed = await ssh('destroy', app, '--confirm', app);
    expect(destroyed.exitCode).toBe(0);
    expect(destroyed.stdout).toContain('named volumes kept');
    expect(await docker.listServices({ filters: { label: [`com.docker.stack.namespace=${app}`] } })).toEqual([]);
    expect(
      await docker.listContainers({ all: true, filters: { label: [`com.docker.stack.namespace=${app}`] } }),
    ).toEqual([]);
    expect((await ssh('apps')).stdout).not.toContain(app);
    expect((await ssh('status', app)).exitCode).toBe(1);
    expect((await platform.git(repo, 'ls-remote', 'swarmlet')).exitCode).not.toBe(0);
    const data = platform.env.SWARMLET_DATA_DIR ?? '';
    expect(readdirSync(join(data, 'deployer', 'deploys'))).not.toContain(app);
    expect(readdirSync(join(data, 'deployer', 'apps'))).not.toContain(`${app}.json`);
    expect(readdirSync(join(data, 'receiver', 'repos'))).not.toContain(`${app}.git`);
    for (const service of ['web', 'worker']) {
      const tags = await fetch(`http://127.0.0.1:${platform.registryPort}/v2/${app}-${service}/tags/list`);
      const listed = tags.ok ? ((await tags.json()) as { tags: string[] | null }).tags : null;
      expect({ service, tags: listed ?? [] }).toEqual({ service, tags: [] });
    }
    expect(await docker.listImages({ filters: { label: [`swarmlet.app=${app}`] } })).toEqual([]);
    expect((await docker.getVolume(`${app}_data`).inspect()).Name).toBe(`${app}_data`);
  }, 240_000);
});

/** The pid of the child of `parent` whose command line contains `needle`. */
async function childPid(parent: number, needle: string): Promise<number> {
  const { stdout } = await execa('ps', ['--ppid', String(parent), '-o', 'pid=,args=']);
  const line = stdout.split('\n').find((entry) => entry.includes(needle));
  if (!line) throw new Error(`no child of ${parent} runs ${needle}`);
  return Number(line.trim().split(/\s+/)[0]);
}

/** How many sockets process `pid` holds open. */
async function countSockets(pid: number): Promise<number> {
  const { stdout } = await execa('ls', ['-l', `/proc/${pid}/fd`], { reject: false });
  return stdout.split('\n').filter((line) => line.includes('socket:')).length;
}
