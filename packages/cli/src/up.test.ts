import { mkdtempSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { freePort, waitFor } from '../../../test/support/docker.js';

const main = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');

describe('swarmlet up (the built command behind npm start)', () => {
  it('runs the registry, the deployer agent and the git receiver until Ctrl-C, then stops them all', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'swarmlet-up-'));
    const [registryPort, agentPort, sshPort] = [await freePort(), await freePort(), await freePort()];
    const child = execa('node', [main, 'up'], {
      env: {
        SWARMLET_DATA_DIR: dataDir,
        SWARMLET_REGISTRY_PORT: String(registryPort),
        SWARMLET_AGENT_PORT: String(agentPort),
        SWARMLET_SSH_PORT: String(sshPort),
        SWARMLET_AUTHORIZED_KEYS: join(dataDir, 'authorized_keys'),
      },
      reject: false,
      all: true,
    });
    const registry = await waitFor('the registry to answer', async () => {
      const response = await fetch(`http://127.0.0.1:${registryPort}/v2/`);
      return response.ok ? response : undefined;
    });
    expect(registry.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    const health = await waitFor('the agent to answer', async () => {
      const response = await fetch(`http://127.0.0.1:${agentPort}/health`);
      return response.ok ? ((await response.json()) as { engine: { swarm: string } }) : undefined;
    });
    expect(health.engine.swarm).toBe('active');
    const token = readFileSync(join(dataDir, 'agent-token'), 'utf8');
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect((await fetch(`http://127.0.0.1:${agentPort}/v1/apps`)).status).toBe(401);
    const apps = await fetch(`http://127.0.0.1:${agentPort}/v1/apps`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    const listed = (await apps.json()) as { apps: { app: string; deployed?: unknown }[] };
    expect(listed.apps.filter((entry) => entry.deployed !== undefined)).toEqual([]);
    const banner = await waitFor(
      'the receiver to greet',
      () =>
        new Promise<string | undefined>((resolve) => {
          const socket = connect(sshPort, '127.0.0.1');
          socket.once('data', (data) => {
            socket.destroy();
            resolve(data.toString());
          });
          socket.once('error', () => {
            resolve(undefined);
          });
        }),
    );
    expect(banner).toMatch(/^SSH-2\.0-/);

    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(0);
    expect(result.all).toContain(`registry        http://127.0.0.1:${registryPort}/v2/`);
    expect(result.all).toContain('"msg":"stopped"');
    await expect(fetch(`http://127.0.0.1:${registryPort}/v2/`)).rejects.toThrow();
    await expect(fetch(`http://127.0.0.1:${agentPort}/health`)).rejects.toThrow();
  });
});
