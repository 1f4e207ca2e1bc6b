import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { freePort, repoRoot, waitFor } from '../../../test/support/docker.js';

const main = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');

const sshBanner = async (port: number): Promise<string | undefined> => {
  const scan = await execa('ssh-keyscan', ['-p', String(port), '-t', 'ed25519', '127.0.0.1'], { reject: false });
  return scan.stdout.trim() === '' ? undefined : scan.stdout;
};

describe('swarmlet platform and swarmlet health (the deployer image)', () => {
  it('runs the agent and the receiver, seeds the core repositories, and hands the SSH port to a successor', async () => {
    const work = mkdtempSync(join(tmpdir(), 'swarmlet-platform-'));
    const sshPort = await freePort();
    const tokenFile = join(work, 'agent-token');
    writeFileSync(tokenFile, 'platform-test-token\n', { mode: 0o600 });
    const envFor = (name: string) => ({
      SWARMLET_DATA_DIR: join(work, 'data'),
      SWARMLET_SSH_PORT: String(sshPort),
      SWARMLET_AGENT_TOKEN_FILE: tokenFile,
      SWARMLET_RUN_DIR: join(work, `run-${name}`),
      SWARMLET_LOG_LEVEL: 'info',
    });
    const healthOf = (name: string) => execa('node', [main, 'health'], { env: envFor(name), reject: false, all: true });

    const before = await healthOf('old');
    expect(before.exitCode).toBe(1);
    expect(before.all).toMatch(/^swarmlet health: the deployer agent does not answer/);

    const old = execa('node', [main, 'platform'], { env: envFor('old'), reject: false, all: true });
    await waitFor(
      'the old platform to be healthy',
      async () => ((await healthOf('old')).exitCode === 0 ? true : undefined),
      { timeoutMs: 180_000 },
    );
    const oldKey = await waitFor('the old receiver to answer', () => sshBanner(sshPort));
    const repos = join(work, 'data', 'receiver', 'repos');
    expect(existsSync(join(repos, 'registry.git'))).toBe(true);
    const seeded = await execa('git', ['--git-dir', join(repos, 'registry.git'), 'show', 'master:.env']);
    expect(`${seeded.stdout}\n`).toBe(readFileSync(join(repoRoot, 'stacks', 'registry', '.env'), 'utf8'));
    const agentUrl = readFileSync(join(work, 'run-old', 'agent-url'), 'utf8');
    expect((await fetch(`${agentUrl}/v1/apps`)).status).toBe(401);
    expect(
      (await fetch(`${agentUrl}/v1/apps`, { headers: { Authorization: 'Bearer platform-test-token' } })).status,
    ).toBe(200);

    const successor = execa('node', [main, 'platform'], { env: envFor('new'), reject: false, all: true });
    let successorOutput = '';
    successor.all.on('data', (chunk: Buffer) => {
      successorOutput += chunk.toString('utf8');
    });
    await waitFor('the successor to be healthy while the old one holds the SSH port', async () =>
      (await healthOf('new')).exitCode === 0 ? true : undefined,
    );
    expect(readFileSync(join(work, 'run-new', 'agent-url'), 'utf8')).not.toBe(agentUrl);
    await waitFor('the successor to say it waits for the port', () =>
      Promise.resolve(successorOutput.includes('the SSH port is taken') ? true : undefined),
    );
    old.kill('SIGTERM');
    const oldResult = await old;
    expect(oldResult.exitCode).toBe(0);
    const newKey = await waitFor('the successor to take the SSH port', () => sshBanner(sshPort));
    expect(newKey).toBe(oldKey);
    successor.kill('SIGTERM');
    const newResult = await successor;
    expect(newResult.exitCode).toBe(0);
    expect(`${oldResult.all}${successorOutput}`).not.toContain('platform-test-token');
  }, 300_000);
});
