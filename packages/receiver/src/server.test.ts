import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@swarmlet/common';
import { execa, type ResultPromise } from 'execa';
import { AuthorizedKeysFile } from './authorized-keys.js';
import { loadOrCreateHostKey } from './host-key.js';
import { parseGitCommand, startReceiver, type Receiver, type ReceiverOptions } from './server.js';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const hookScript = join(packageDir, 'dist', 'hook.js');
const root = mkdtempSync(join(tmpdir(), 'swarmlet-receiver-'));
const dataDir = join(root, 'data');
const reposDir = join(dataDir, 'repos');
const keysDir = join(root, 'keys');
const home = join(root, 'home');
const tokenFile = join(root, 'agent-token');
const TOKEN = 'agent-s3cret-token';

interface AgentCall {
  url: string;
  authorization: string | undefined;
  body: { repository: string; commit: string; branch: string; objectDirectories?: string[] };
  commitReadable: boolean;
  finishedBeforeClose?: boolean;
}
type Behaviour = (call: AgentCall, response: ServerResponse) => Promise<void>;

let receiver: Receiver;
let agent: Server;
let agentUrl: string;
let agentConnections = 0;
let behaviour: Behaviour = () => Promise.reject(new Error('no agent behaviour set'));
const agentCalls: AgentCall[] = [];
const logLines: Record<string, unknown>[] = [];
const keyWarnings: string[] = [];

function ndjson(response: ServerResponse, ...messages: object[]): void {
  for (const message of messages) response.write(`${JSON.stringify(message)}\n`);
}

const APP_LISTING = ['erin-app', 'clone-app', 'registry'].map((app) => ({
  app,
  core: app === 'registry',
  running: 1,
  desired: 1,
  urls: [],
}));

async function handleAgent(request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method === 'GET' && request.url === '/v1/apps') {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ apps: APP_LISTING }));
    return;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AgentCall['body'];
  const check = await execa('git', ['--git-dir', body.repository, 'cat-file', '-e', `${body.commit}^{commit}`], {
    reject: false,
    env: { GIT_ALTERNATE_OBJECT_DIRECTORIES: (body.objectDirectories ?? []).join(':') },
  });
  const call: AgentCall = {
    url: request.url ?? '',
    authorization: request.headers.authorization,
    body,
    commitReadable: check.exitCode === 0,
  };
  agentCalls.push(call);
  if (call.authorization !== `Bearer ${TOKEN}`) {
    response.writeHead(401, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: 'invalid token' }));
    return;
  }
  response.on('close', () => {
    call.finishedBeforeClose = response.writableFinished;
  });
  response.writeHead(200, { 'content-type': 'application/x-ndjson' });
  await behaviour(call, response);
}

function sshArgs(key: string, logLevel = 'ERROR'): string[] {
  return [
    '-F',
    '/dev/null',
    '-i',
    join(keysDir, key),
    '-p',
    String(receiver.port),
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    `LogLevel=${logLevel}`,
  ];
}

const baseEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LANG: 'C' };

function ssh(args: string[], key = 'alice'): ResultPromise<{ reject: false; stdin: 'ignore' }> {
  return execa('ssh', [...sshArgs(key), ...args.slice(0, -1), 'git@127.0.0.1', ...args.slice(-1)], {
    reject: false,
    stdin: 'ignore',
    extendEnv: false,
    env: baseEnv,
  });
}

function shell(args: string[], key = 'alice'): ResultPromise<{ reject: false; stdin: 'ignore' }> {
  return execa('ssh', [...sshArgs(key), ...args, 'git@127.0.0.1'], {
    reject: false,
    stdin: 'ignore',
    extendEnv: false,
    env: baseEnv,
  });
}

function gitEnv(key: string): Record<string, string> {
  return {
    ...baseEnv,
    GIT_SSH_COMMAND: ['ssh', ...sshArgs(key)].join(' '),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Dev',
    GIT_AUTHOR_EMAIL: 'dev@example.com',
    GIT_COMMITTER_NAME: 'Dev',
    GIT_COMMITTER_EMAIL: 'dev@example.com',
  };
}

function git(cwd: string, args: string[], key = 'alice', detached = false) {
  return execa('git', args, { cwd, reject: false, extendEnv: false, env: gitEnv(key), detached });
}

async function workTree(name: string): Promise<{ dir: string; commit: (text: string) => Promise<string> }> {
  const dir = join(root, 'work', name);
  mkdirSync(dir, { recursive: true });
  await git(dir, ['init', '--quiet', '-b', 'master']);
  return {
    dir,
    commit: async (text) => {
      writeFileSync(join(dir, 'app.txt'), text);
      await git(dir, ['add', '.']);
      await git(dir, ['commit', '--quiet', '-m', text]);
      return (await git(dir, ['rev-parse', 'HEAD'])).stdout;
    },
  };
}

async function bareRef(app: string, ref: string): Promise<string> {
  const result = await execa('git', ['--git-dir', join(reposDir, `${app}.git`), 'rev-parse', '--verify', '-q', ref], {
    reject: false,
  });
  return result.stdout;
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function listTree(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort() : [];
}

async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startOn(dir: string, overrides: Partial<ReceiverOptions> = {}): Promise<Receiver> {
  const hostKey = await loadOrCreateHostKey(join(dir, 'ssh'));
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        logLines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return startReceiver({
    host: '127.0.0.1',
    port: 0,
    hostKey: hostKey.privateKey,
    authorizedKeys: new AuthorizedKeysFile(join(root, 'authorized_keys'), (message) => keyWarnings.push(message)),
    reposDir: join(dir, 'repos'),
    hook: { node: process.execPath, script: hookScript },
    agent: { url: agentUrl, tokenFile },
    gitEnv: { PATH: baseEnv.PATH, HOME: home },
    log: createLogger({ name: 'receiver', level: 'debug', destination }),
    ...overrides,
  });
}

beforeAll(async () => {
  const stale = readdirSync(join(packageDir, 'src'))
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && !file.endsWith('.d.ts'))
    .filter((file) => {
      const built = join(packageDir, 'dist', file.replace(/\.ts$/, '.js'));
      return !existsSync(built) || statSync(built).mtimeMs < statSync(join(packageDir, 'src', file)).mtimeMs;
    });
  if (stale.length > 0) {
    throw new Error(
      `the pre-receive hook runs the built receiver; build it first (npm run build): ${stale.join(', ')}`,
    );
  }
  mkdirSync(keysDir);
  mkdirSync(home);
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  for (const [name, type] of [
    ['alice', 'ed25519'],
    ['bob', 'rsa'],
    ['carol', 'ecdsa'],
    ['stranger', 'ed25519'],
    ['dave', 'ed25519'],
    ['erin', 'ed25519'],
  ] as const) {
    await execa('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', `${name}@laptop`, '-f', join(keysDir, name)]);
  }
  const pub = (name: string): string => readFileSync(join(keysDir, `${name}.pub`), 'utf8').trim();
  writeFileSync(
    join(root, 'authorized_keys'),
    [
      '# test keys',
      pub('alice'),
      `no-pty,no-port-forwarding,no-agent-forwarding,pty,port-forwarding ${pub('bob')}`,
      pub('carol'),
      'ssh-ed25519 broken',
      `command="/bin/sh -i" ${pub('dave')}`,
      pub('erin'),
    ].join('\n'),
  );
  const erin = (await execa('ssh-keygen', ['-l', '-f', join(keysDir, 'erin.pub')])).stdout.split(' ')[1] ?? '';
  writeFileSync(
    join(root, 'authorized_keys.swarmlet-roles'),
    JSON.stringify({ version: 1, keys: { [erin]: { role: 'deployer', apps: ['erin-app', 'erin-new'] } } }),
  );
  agent = createServer((request, response) => {
    handleAgent(request, response).catch((error: unknown) => {
      response.destroy(error as Error);
    });
  });
  agent.on('connection', () => {
    agentConnections += 1;
  });
  await new Promise<void>((resolve) => agent.listen(0, '127.0.0.1', resolve));
  agentUrl = `http://127.0.0.1:${(agent.address() as AddressInfo).port}`;
  receiver = await startOn(dataDir);
});

afterAll(async () => {
  await receiver.close();
  agent.closeAllConnections();
  await new Promise((resolve) => agent.close(resolve));
});

describe('parseGitCommand', () => {
  it.each([
    ["git-receive-pack 'app.git'", { service: 'receive-pack', rawName: "'app.git'" }],
    ["git-upload-pack '/app'", { service: 'upload-pack', rawName: "'/app'" }],
    ['git-upload-archive app', { service: 'upload-archive', rawName: 'app' }],
    ["git receive-pack 'app'", { service: 'receive-pack', rawName: "'app'" }],
  ])('reads %s', (text, expected) => {
    expect(parseGitCommand(text)).toEqual(expected);
  });

  it.each(['ls', 'git-receive-pack', 'git-shell -c x', 'git-receive-pack\tapp', "git-upload-pack 'a'\nls", ''])(
    'refuses %j',
    (text) => {
      expect(parseGitCommand(text)).toBeUndefined();
    },
  );
});

describe('the git receiver over SSH', () => {
  it('creates the bare repository on the first push and stores a branch that is not the deploy branch', async () => {
    const work = await workTree('new-app');
    const commit = await work.commit('one');
    const pushed = await git(work.dir, ['push', 'git@127.0.0.1:new-app', 'master:feature']);
    expect(pushed.stderr).toContain('remote: -----> feature: not the deploy branch: nothing deployed');
    expect(pushed.exitCode).toBe(0);
    expect(await bareRef('new-app', 'refs/heads/feature')).toBe(commit);
    const bare = await execa('git', ['--git-dir', join(reposDir, 'new-app.git'), 'rev-parse', '--is-bare-repository']);
    expect(bare.stdout).toBe('true');
    expect(statSync(join(reposDir, 'new-app.git', 'hooks', 'pre-receive')).mode & 0o111).not.toBe(0);
    expect(agentCalls).toHaveLength(0);
  });

  it('serves clone, fetch, ls-remote and archive, in the scp and ssh:// forms', async () => {
    const work = await workTree('clone-app');
    await work.commit('first');
    expect((await git(work.dir, ['push', 'git@127.0.0.1:clone-app.git', 'master:dev'])).exitCode).toBe(0);
    const clone = join(root, 'work', 'clone-app-copy');
    const cloned = await git(root, ['clone', '--quiet', '-b', 'dev', 'git@127.0.0.1:clone-app', clone], 'carol');
    expect(cloned.stderr).toBe('');
    expect(readFileSync(join(clone, 'app.txt'), 'utf8')).toBe('first');

    const second = await work.commit('second');
    expect((await git(work.dir, ['push', 'git@127.0.0.1:~/clone-app', 'master:dev'])).exitCode).toBe(0);
    expect((await git(clone, ['fetch', '--quiet', 'origin'], 'bob')).exitCode).toBe(0);
    expect((await git(clone, ['rev-parse', 'origin/dev'])).stdout).toBe(second);

    const listed = await git(root, ['ls-remote', `ssh://git@127.0.0.1:${receiver.port}/clone-app.git`]);
    expect(listed.stdout).toContain(`${second}\trefs/heads/dev`);
    const archive = await git(root, ['archive', '--remote', 'git@127.0.0.1:clone-app', '--format=tar', 'dev']);
    expect(archive.exitCode).toBe(0);
    expect(archive.stdout).toContain('app.txt');
  });

  it('answers "repository not found" for a fetch of an unknown app, and creates nothing', async () => {
    const before = listTree(dataDir);
    const listed = await git(root, ['ls-remote', 'git@127.0.0.1:missing-app']);
    expect(listed.exitCode).not.toBe(0);
    expect(listed.stderr).toContain('repository not found: missing-app');
    const archive = await ssh(["git-upload-archive 'missing-app'"]);
    expect(archive.exitCode).toBe(1);
    expect(archive.stderr).toContain('repository not found');
    expect(listTree(dataDir)).toEqual(before);
  });

  it('lets in the authorized Ed25519, RSA and ECDSA keys, options or not, and nothing else', async () => {
    for (const key of ['alice', 'bob', 'carol']) {
      const result = await ssh(["git-upload-pack 'missing-app'"], key);
      expect({ key, code: result.exitCode, stderr: result.stderr }).toEqual({
        key,
        code: 1,
        stderr: 'repository not found: missing-app',
      });
    }
    const stranger = await ssh(["git-upload-pack 'new-app'"], 'stranger');
    expect(stranger.exitCode).toBe(255);
    expect(stranger.stderr).toContain('Permission denied (publickey)');
    const password = await ssh(
      ['-o', 'PreferredAuthentications=password,keyboard-interactive', '-o', 'PubkeyAuthentication=no', 'ls'],
      'alice',
    );
    expect(password.exitCode).toBe(255);
    expect(password.stderr).toContain('Permission denied (publickey)');
    expect(logLines).toContainEqual(
      expect.objectContaining({ msg: 'authentication refused', reason: 'key not authorized' }),
    );
  });

  it('refuses a shell (1), a pty, unknown commands (2) and subsystems, each with one line', async () => {
    const plain = await shell([]);
    expect(plain.exitCode).toBe(1);
    expect(plain.stderr).toContain('no shell here: this server speaks git');
    const tty = await shell(['-tt']);
    expect(tty.exitCode).toBe(255);
    expect(tty.stderr).toContain('PTY allocation request failed');
    for (const command of ['ls', 'git-upload-pack', 'sh -c "id"', 'git-shell -c "git-upload-pack new-app"']) {
      const result = await ssh([command], 'bob');
      expect({ command, code: result.exitCode }).toEqual({ command, code: 2 });
      expect(result.stderr).toMatch(/^swarmlet: unknown command ".*": `help` lists the commands$/m);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
    const sftp = await ssh(['-s', 'sftp']);
    expect(sftp.exitCode).not.toBe(0);
    expect(sftp.stderr).toContain('subsystem request failed');
  });

  it('refuses local and remote port forwarding', async () => {
    const local = await freePort();
    const connectionsBefore = agentConnections;
    const tunnel = execa(
      'ssh',
      [
        ...sshArgs('alice', 'INFO'),
        '-N',
        '-o',
        'ExitOnForwardFailure=yes',
        '-L',
        `${local}:127.0.0.1:${new URL(agentUrl).port}`,
        'git@127.0.0.1',
      ],
      { reject: false, stdin: 'ignore', extendEnv: false, env: baseEnv },
    );
    try {
      let stderr = '';
      tunnel.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
      });
      let received = '';
      await until(
        () =>
          new Promise<boolean>((resolve) => {
            const socket = connect(local, '127.0.0.1');
            socket.on('connect', () => {
              socket.write('GET /health HTTP/1.0\r\n\r\n');
              socket.on('data', (chunk: Buffer) => {
                received += chunk.toString('utf8');
              });
              socket.on('close', () => {
                resolve(true);
              });
            });
            socket.on('error', () => {
              resolve(false);
            });
          }),
        'the tunnel to listen',
      );
      await until(() => stderr.includes('open failed'), 'the forwarding refusal');
      expect(stderr).toContain('open failed: administratively prohibited');
      expect(received).toBe('');
      expect(agentConnections).toBe(connectionsBefore);
    } finally {
      tunnel.kill();
      await tunnel;
    }

    const remote = await shell(['-N', '-o', 'ExitOnForwardFailure=yes', '-R', `0:127.0.0.1:${new URL(agentUrl).port}`]);
    expect(remote.exitCode).toBe(255);
    expect(remote.stderr).toContain('remote port forwarding failed');
    expect(logLines).toContainEqual(
      expect.objectContaining({ msg: 'refused a forwarding request', request: 'tcpip-forward' }),
    );
  });

  it.each([
    "git-receive-pack '../x'",
    "git-receive-pack '/etc/passwd'",
    "git-receive-pack 'a b'",
    "git-receive-pack 'x;rm -rf /'",
    "git-receive-pack 'x';touch pwned;''",
    "git-receive-pack '$(touch pwned)'",
    "git-receive-pack 'UPPER'",
    "git-receive-pack '..'",
    "git-receive-pack 'x/../y'",
    "git-receive-pack '~root/x'",
    "git-receive-pack '-x'",
    "git-receive-pack '.git'",
    "git-receive-pack 'x' 'y'",
    "git-receive-pack 'x\\'",
    'git-receive-pack ../../etc',
    "git-upload-pack '../new-app'",
    "git-upload-archive '/new-app/../new-app'",
    "git receive-pack 'a\"b'",
  ])('refuses the repository name in %s and creates nothing', async (command) => {
    const before = listTree(root);
    const result = await ssh([command]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^invalid repository name .*: use lower-case letters/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(listTree(root)).toEqual(before);
    expect(existsSync('pwned')).toBe(false);
  });

  it('refuses a bad name pushed with git itself', async () => {
    const work = await workTree('bad-name');
    await work.commit('x');
    const before = listTree(dataDir);
    const pushed = await git(work.dir, ['push', 'git@127.0.0.1:Bad-Name', 'master']);
    expect(pushed.exitCode).not.toBe(0);
    expect(pushed.stderr).toContain('invalid repository name');
    expect(listTree(dataDir)).toEqual(before);
  });

  it('keeps its host key across restarts', async () => {
    const scan = async (port: number): Promise<string> =>
      (await execa('ssh-keyscan', ['-p', String(port), '-t', 'ed25519', '127.0.0.1'])).stdout
        .split(' ')
        .slice(1)
        .join(' ');
    const first = await scan(receiver.port);
    const published = readFileSync(join(dataDir, 'ssh', 'ssh_host_ed25519_key.pub'), 'utf8')
      .trim()
      .split(' ');
    expect(first).toBe(published.slice(0, 2).join(' '));
    const restarted = await startOn(dataDir);
    try {
      expect(restarted.port).not.toBe(receiver.port);
      expect(await scan(restarted.port)).toBe(first);
    } finally {
      await restarted.close();
    }
  });
});

describe('key roles over SSH', () => {
  const erinRole = 'deployer of erin-app, erin-new';

  it('a key with an option the receiver does not enforce never logs in, and the reason is logged', async () => {
    const dave = await ssh(['help'], 'dave');
    expect(dave.exitCode).toBe(255);
    expect(dave.stderr).toContain('Permission denied (publickey)');
    expect(keyWarnings).toContainEqual(
      expect.stringMatching(
        /authorized_keys line 6: key SHA256:\S+ \(dave@laptop\): option command= is not enforced by swarmlet: remove it or use a deployer role$/,
      ),
    );
  });

  it('a deployer pushes and fetches its own apps; other apps and the core repos are refused, nothing created', async () => {
    const work = await workTree('erin-app');
    const commit = await work.commit('erin');
    const pushed = await git(work.dir, ['push', 'git@127.0.0.1:erin-app', 'master:feature'], 'erin');
    expect(pushed.exitCode).toBe(0);
    expect(await bareRef('erin-app', 'refs/heads/feature')).toBe(commit);
    expect((await git(root, ['ls-remote', 'git@127.0.0.1:erin-app'], 'erin')).stdout).toContain(commit);
    expect((await git(root, ['ls-remote', 'git@127.0.0.1:erin-app'], 'alice')).stdout).toContain(commit);

    const before = listTree(dataDir);
    const other = await git(work.dir, ['push', 'git@127.0.0.1:clone-app', 'master:erin'], 'erin');
    expect(other.exitCode).not.toBe(0);
    expect(other.stderr).toContain(`swarmlet: this key is a ${erinRole}: it cannot reach the app "clone-app"`);
    const created = await git(work.dir, ['push', 'git@127.0.0.1:someone-else', 'master:feature'], 'erin');
    expect(created.exitCode).not.toBe(0);
    expect(created.stderr).toContain('it cannot reach the app "someone-else" (git receive-pack refused)');
    const fetched = await git(root, ['ls-remote', 'git@127.0.0.1:clone-app'], 'erin');
    expect(fetched.exitCode).not.toBe(0);
    expect(fetched.stderr).toContain('it cannot reach the app "clone-app" (git upload-pack refused)');
    const archive = await ssh(["git-upload-archive 'clone-app'"], 'erin');
    expect(archive).toMatchObject({
      exitCode: 1,
      stderr: expect.stringContaining('git upload-archive refused') as unknown,
    });
    for (const core of ['registry', 'router', 'deployer']) {
      const clone = await git(root, ['ls-remote', `git@127.0.0.1:${core}`], 'erin');
      expect(clone.exitCode).not.toBe(0);
      expect(clone.stderr).toContain(
        `"${core}" is a core app: only admin keys reach it, and this key is a ${erinRole}`,
      );
    }
    expect(listTree(dataDir)).toEqual(before);
    expect(await bareRef('clone-app', 'refs/heads/erin')).toBe('');
  });

  it('a deployer runs help, apps and the app verbs of its apps; anything else is refused before the agent is asked', async () => {
    const connections = agentConnections;
    const refused: [string, string][] = [
      ['keys list', `\`keys list\` needs an admin key: this key is a ${erinRole}`],
      ['nodes', `\`nodes\` needs an admin key: this key is a ${erinRole}`],
      ['apps trust erin-app', `\`apps trust\` needs an admin key: this key is a ${erinRole}`],
      ['status clone-app', `this key is a ${erinRole}: it cannot reach the app "clone-app"`],
      ['destroy clone-app --confirm clone-app', 'it cannot reach the app "clone-app"'],
      ['config set clone-app A=1', 'it cannot reach the app "clone-app"'],
      ['domains add clone-app x.example.com', 'it cannot reach the app "clone-app"'],
      ['logs registry', '"registry" is a core app: only admin keys reach it'],
      ['logs -f clone-app', `this key is a ${erinRole}: name the app right after \`logs\` (logs APP …)`],
    ];
    for (const [command, message] of refused) {
      const result = await ssh([command], 'erin');
      expect({ command, code: result.exitCode, stdout: result.stdout }).toEqual({ command, code: 1, stdout: '' });
      expect(result.stderr).toMatch(/^swarmlet: [^\n]+$/);
      expect(result.stderr).toContain(message);
    }
    expect(agentConnections).toBe(connections);

    const help = await ssh(['help'], 'erin');
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('status APP');
    expect(help.stdout).toContain('apps [--json]');
    expect(help.stdout).not.toMatch(/^ +keys /m);
    expect((await ssh(['help'], 'alice')).stdout).toContain('keys list');

    const apps = await ssh(['apps --json'], 'erin');
    expect(apps.exitCode).toBe(0);
    expect((JSON.parse(apps.stdout) as { app: string }[]).map((entry) => entry.app)).toEqual(['erin-app']);
    expect((await ssh(['apps'], 'erin')).stdout).not.toMatch(/clone-app|registry/);
    const all = JSON.parse((await ssh(['apps --json'], 'alice')).stdout) as { app: string }[];
    expect(all.map((entry) => entry.app)).toEqual(['erin-app', 'clone-app', 'registry']);

    const own = await ssh(['status erin-app'], 'erin');
    expect(own.stderr).not.toContain('cannot reach the app');
    expect(agentConnections).toBeGreaterThan(connections);
  });

  it('keys list shows each key with its role, and the refused lines with their reasons', async () => {
    const listed = await ssh(['keys list'], 'alice');
    expect(listed.exitCode).toBe(0);
    expect(listed.stdout.split('\n')).toEqual([
      expect.stringMatching(/^SHA256:\S+ ssh-ed25519 admin alice@laptop$/),
      expect.stringMatching(/^SHA256:\S+ ssh-rsa admin bob@laptop$/),
      expect.stringMatching(/^SHA256:\S+ ecdsa-sha2-nistp256 admin carol@laptop$/),
      expect.stringMatching(/^SHA256:\S+ ssh-ed25519 deployer:erin-app,erin-new erin@laptop$/),
    ]);
    expect(listed.stderr).toMatch(
      /line 6: key SHA256:\S+ \(dave@laptop\): option command= is not enforced by swarmlet/,
    );
  });
});

describe('a push to the deploy branch', () => {
  beforeEach(() => {
    agentCalls.length = 0;
  });

  it('deploys before the ref moves, streaming the log to the pusher, and ends with the URL', async () => {
    const work = await workTree('deploy-app');
    const commit = await work.commit('v1');
    behaviour = async (call, response) => {
      ndjson(response, { type: 'log', line: 'Step 1/2 : FROM busybox' });
      await new Promise((resolve) => setTimeout(resolve, 50));
      ndjson(
        response,
        { type: 'log', line: `ref still at ${(await bareRef('deploy-app', 'refs/heads/master')) || 'nothing'}` },
        { type: 'log', line: 'Successfully built' },
        { type: 'result', ok: true, url: `http://deploy-app.localhost (${call.body.branch})` },
      );
      response.end();
    };
    const pushed = await git(work.dir, ['push', 'git@127.0.0.1:deploy-app', 'master']);
    expect(pushed.stderr).toContain(`remote: -----> Deploying deploy-app from master (${commit.slice(0, 12)})`);
    expect(pushed.stderr).toContain('remote: Step 1/2 : FROM busybox');
    expect(pushed.stderr).toContain('remote: ref still at nothing');
    expect(pushed.stderr).toContain('remote: -----> Deployed deploy-app: http://deploy-app.localhost (master)');
    expect(pushed.exitCode).toBe(0);
    expect(await bareRef('deploy-app', 'refs/heads/master')).toBe(commit);

    expect(agentCalls).toHaveLength(1);
    const [call] = agentCalls;
    expect(call).toMatchObject({
      url: '/v1/apps/deploy-app/deploys',
      authorization: `Bearer ${TOKEN}`,
      body: { repository: join(reposDir, 'deploy-app.git'), commit, branch: 'master' },
      commitReadable: true,
      finishedBeforeClose: true,
    });
    expect(call?.body.objectDirectories).toHaveLength(1);
    expect(JSON.stringify(logLines)).not.toContain(TOKEN);
    expect(readFileSync(join(reposDir, 'deploy-app.git', 'hooks', 'pre-receive'), 'utf8')).not.toContain(TOKEN);
  });

  it('rejects the push when the deploy fails, and the branch stays where it was', async () => {
    const work = await workTree('failing-app');
    const good = await work.commit('good');
    behaviour = async (_call, response) => {
      ndjson(
        response,
        { type: 'log', line: 'built' },
        { type: 'result', ok: true, url: 'http://failing-app.localhost' },
      );
      response.end();
      return Promise.resolve();
    };
    expect((await git(work.dir, ['push', 'git@127.0.0.1:failing-app', 'master'])).exitCode).toBe(0);
    const bad = await work.commit('bad');
    behaviour = async (_call, response) => {
      ndjson(
        response,
        { type: 'log', line: 'Step 2/2 : RUN make' },
        { type: 'log', line: 'make: *** No rule to make target' },
        { type: 'result', ok: false, error: 'the build failed: RUN make exited with 2' },
      );
      response.end();
      return Promise.resolve();
    };
    const pushed = await git(work.dir, ['push', 'git@127.0.0.1:failing-app', 'master']);
    expect(pushed.exitCode).toBe(1);
    expect(pushed.stderr).toContain('remote: make: *** No rule to make target');
    expect(pushed.stderr).toContain('remote: -----> Deploy failed: the build failed: RUN make exited with 2');
    expect(pushed.stderr).toContain('[remote rejected] master -> master (pre-receive hook declined)');
    const listed = await git(work.dir, ['ls-remote', 'git@127.0.0.1:failing-app']);
    expect(listed.stdout).toContain(`${good}\trefs/heads/master`);
    expect(listed.stdout).not.toContain(bad);
  });

  it('refuses to delete the deploy branch', async () => {
    const work = await workTree('delete-app');
    const commit = await work.commit('v1');
    behaviour = async (_call, response) => {
      ndjson(response, { type: 'result', ok: true });
      response.end();
      return Promise.resolve();
    };
    expect((await git(work.dir, ['push', 'git@127.0.0.1:delete-app', 'master'])).exitCode).toBe(0);
    const deleted = await git(work.dir, ['push', 'git@127.0.0.1:delete-app', ':master']);
    expect(deleted.exitCode).toBe(1);
    expect(deleted.stderr).toContain('remote: -----> Deleting the deploy branch is refused');
    expect(await bareRef('delete-app', 'refs/heads/master')).toBe(commit);
    expect(agentCalls).toHaveLength(1);
  });

  it('is rejected with the reason when the agent refuses the deploy', async () => {
    const work = await workTree('refused-app');
    await work.commit('v1');
    writeFileSync(tokenFile, 'wrong-token\n');
    try {
      const pushed = await git(work.dir, ['push', 'git@127.0.0.1:refused-app', 'master:main'], 'bob');
      expect(pushed.exitCode).toBe(1);
      expect(pushed.stderr).toContain(
        'remote: -----> Deploy failed: the deployer agent refused the deploy (HTTP 401): invalid token',
      );
      expect(await bareRef('refused-app', 'refs/heads/main')).toBe('');
    } finally {
      writeFileSync(tokenFile, `${TOKEN}\n`);
    }
  });

  it('finishes the deploy and moves the ref when the pusher disconnects mid-deploy', async () => {
    const work = await workTree('vanishing-app');
    const commit = await work.commit('v1');
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    behaviour = async (_call, response) => {
      for (let index = 0; index < 200; index += 1) ndjson(response, { type: 'log', line: `building step ${index}` });
      await released;
      for (let index = 0; index < 40_000; index += 1) {
        ndjson(response, { type: 'log', line: `pushing layer ${index} ${'='.repeat(80)}` });
      }
      ndjson(response, { type: 'result', ok: true, url: 'http://vanishing-app.localhost' });
      response.end();
    };
    const push = git(work.dir, ['push', 'git@127.0.0.1:vanishing-app', 'master'], 'alice', true);
    let output = '';
    push.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    await until(() => output.includes('building step 199'), 'the deploy log to reach the pusher');
    const goneBefore = logLines.filter((line) => line.msg === 'the client went away; letting git finish').length;
    process.kill(-(push.pid ?? 0), 'SIGKILL');
    await push;
    await until(
      () => logLines.filter((line) => line.msg === 'the client went away; letting git finish').length > goneBefore,
      'the receiver to notice the disconnect',
    );
    release();
    await until(async () => (await bareRef('vanishing-app', 'refs/heads/master')) === commit, 'the ref to move');
    await until(() => agentCalls[0]?.finishedBeforeClose !== undefined, 'the agent answer to close');
    expect(agentCalls[0]?.finishedBeforeClose).toBe(true);
  });
});

describe('pushes to one app at once', () => {
  it('run one after the other: the later one waits, then deploys on top or is refused as not a fast-forward', async () => {
    const first = await workTree('turns-first');
    const v2 = await first.commit('v2');
    const onTop = join(root, 'work', 'turns-on-top');
    await execa('git', ['clone', '--quiet', first.dir, onTop]);
    writeFileSync(join(onTop, 'app.txt'), 'v3');
    await git(onTop, ['commit', '--quiet', '-am', 'v3']);
    const v3 = (await git(onTop, ['rev-parse', 'HEAD'])).stdout;
    const unrelated = await workTree('turns-unrelated');
    const other = await unrelated.commit('unrelated');
    agentCalls.length = 0;
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    behaviour = async (call, response) => {
      ndjson(response, { type: 'log', line: `deploying ${call.body.commit}` });
      if (call.body.commit === v2) await released;
      ndjson(response, { type: 'result', ok: true, url: 'http://turns.localhost' });
      response.end();
    };
    const pushFirst = git(first.dir, ['push', 'git@127.0.0.1:turns', 'master']);
    await until(() => agentCalls.length === 1, 'the first deploy to start');
    const pushOnTop = git(onTop, ['push', 'git@127.0.0.1:turns', 'master']);
    const pushOther = git(unrelated.dir, ['push', 'git@127.0.0.1:turns', 'master']);
    let waiting = '';
    for (const push of [pushOnTop, pushOther]) {
      push.stderr.on('data', (chunk: Buffer) => {
        waiting += chunk.toString('utf8');
      });
    }
    await until(
      () => waiting.split('Another push to turns is running: this one waits for it to end').length === 3,
      'both later pushes to say they wait',
    );
    expect(agentCalls).toHaveLength(1);
    release();
    const [firstResult, onTopResult, otherResult] = await Promise.all([pushFirst, pushOnTop, pushOther]);
    expect(firstResult.exitCode).toBe(0);
    expect(onTopResult.exitCode).toBe(0);
    expect(onTopResult.stderr).toContain('remote: -----> Deployed turns: http://turns.localhost');
    expect(otherResult.exitCode).not.toBe(0);
    expect(otherResult.stderr).toMatch(/\[rejected\]\s+master -> master \(fetch first\)/);
    expect(agentCalls.map((call) => call.body.commit)).toEqual([v2, v3]);
    expect(await bareRef('turns', 'refs/heads/master')).toBe(v3);
    expect(other).not.toBe(v3);
  });
});

describe('stopping and starting beside another receiver', () => {
  it('lets a running push finish with its pusher connected once close() is called, and takes no new connection', async () => {
    const draining = await startOn(join(root, 'draining'));
    const sshTo = (port: number, args: string[]) => [
      'ssh',
      ...sshArgs('alice').map((arg) => (arg === String(receiver.port) ? String(port) : arg)),
      ...args,
    ];
    const work = await workTree('draining-app');
    const commit = await work.commit('v1');
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    behaviour = async (_call, response) => {
      ndjson(response, { type: 'log', line: 'updating the platform' });
      await released;
      ndjson(response, { type: 'result', ok: true, url: 'http://draining-app.localhost' });
      response.end();
    };
    const push = execa('git', ['push', `ssh://git@127.0.0.1:${draining.port}/draining-app`, 'master'], {
      cwd: work.dir,
      reject: false,
      extendEnv: false,
      env: { ...gitEnv('alice'), GIT_SSH_COMMAND: sshTo(draining.port, []).join(' ') },
    });
    let output = '';
    push.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    await until(() => output.includes('updating the platform'), 'the deploy to start');
    let closed = false;
    const closing = draining.close().then(() => {
      closed = true;
    });
    const refused = await execa(
      sshTo(draining.port, ['git@127.0.0.1', "git-upload-pack 'draining-app'"])[0] ?? 'ssh',
      sshTo(draining.port, ['git@127.0.0.1', "git-upload-pack 'draining-app'"]).slice(1),
      { reject: false, stdin: 'ignore', extendEnv: false, env: baseEnv },
    );
    expect(refused.exitCode).toBe(255);
    expect(closed).toBe(false);
    release();
    const pushed = await push;
    expect(pushed.stderr).toContain('remote: -----> Deployed draining-app: http://draining-app.localhost');
    expect(pushed.exitCode).toBe(0);
    await closing;
    expect(
      await execa('git', ['--git-dir', join(root, 'draining', 'repos', 'draining-app.git'), 'rev-parse', 'master']),
    ).toMatchObject({ stdout: commit });
  });

  it('waits for its port while another process holds it, when told to', async () => {
    const port = await freePort();
    const holder = createTcpServer();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    await expect(startOn(join(root, 'waiting'), { port })).rejects.toThrow(/EADDRINUSE/);
    const starting = startOn(join(root, 'waiting'), { port, portWaitMs: 60_000 });
    await until(
      () => logLines.some((line) => line.port === port && String(line.msg).includes('the SSH port is taken')),
      'the receiver to say it waits',
    );
    await new Promise((resolve) => holder.close(resolve));
    const waited = await starting;
    try {
      expect(waited.port).toBe(port);
      const scan = await execa('ssh-keyscan', ['-p', String(port), '127.0.0.1']);
      expect(scan.stdout).toContain('ssh-ed25519');
    } finally {
      await waited.close();
    }
  });
});

describe('the pre-receive hook program', () => {
  beforeEach(() => {
    agentCalls.length = 0;
  });

  it.each([
    [true, 0],
    [false, 1],
  ])('keeps talking to the agent when its output is gone (deploy ok: %s, exit %d)', async (ok, code) => {
    const repo = join(root, 'repos-direct', 'epipe-app.git');
    await execa('git', ['init', '--quiet', '--bare', repo]);
    behaviour = async (_call, response) => {
      for (let index = 0; index < 500; index += 1) {
        ndjson(response, { type: 'log', line: `line ${index} ${'x'.repeat(100)}` });
        if (index % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      ndjson(response, ok ? { type: 'result', ok: true } : { type: 'result', ok: false, error: 'failed' });
      response.end();
    };
    const hook = execa(process.execPath, [hookScript], {
      cwd: repo,
      reject: false,
      extendEnv: false,
      env: { PATH: baseEnv.PATH, SWARMLET_AGENT_URL: agentUrl, SWARMLET_AGENT_TOKEN_FILE: tokenFile },
      input: `${'0'.repeat(40)} ${'1'.repeat(40)} refs/heads/master\n`,
      stdout: 'ignore',
      stderr: 'pipe',
    });
    hook.stderr.destroy();
    const result = await hook;
    expect(result.exitCode).toBe(code);
    expect(agentCalls).toHaveLength(1);
    expect(agentCalls[0]?.finishedBeforeClose).toBe(true);
  });
});
