import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppOperations, connectEngine, createAgentApp, Deployer } from '@swarmlet/deployer';
import { execa } from 'execa';
import request from 'supertest';
import { receiverKeysDoor } from './keys-door.js';

const TOKEN = 'keys-token-0123456789';

/** The agent's `/keys` routes on the receiver's keys command, on a real keys file, in process. */
describe('the agent keys routes through the receiver keys command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'swarmlet-keys-door-'));
  const keysFile = join(dir, 'authorized_keys');
  writeFileSync(keysFile, '');
  const docker = connectEngine();
  const deployer = new Deployer(docker, {
    workDir: join(dir, 'work'),
    historyDir: join(dir, 'deploys'),
    appSettingsDir: join(dir, 'apps'),
    registry: '127.0.0.1:1',
    dockerConfig: join(dir, 'docker-config'),
    rootDomain: 'example.test',
    username: 'admin',
    traefikNetwork: 'traefik-public',
    version: 'test',
    publishMode: 'host',
    path: process.env.PATH ?? '/usr/bin:/bin',
    convergeTimeoutMs: 10_000,
    entrypointTimeoutMs: 10_000,
    concurrency: 1,
  });
  const operations = new AppOperations(docker, deployer, {
    registry: '127.0.0.1:1',
    workDir: join(dir, 'work'),
    path: process.env.PATH ?? '/usr/bin:/bin',
    convergeTimeoutMs: 10_000,
    rootDomain: 'example.test',
  });
  const server = createAgentApp(docker, { deployer, operations, keys: receiverKeysDoor(keysFile) }, TOKEN).callback();
  const auth = { Authorization: `Bearer ${TOKEN}` };

  it('adds a deployer key, lists it with its role, refuses bad input unchanged, and removes it', async () => {
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'x', '-f', join(dir, 'id')]);
    const key = readFileSync(join(dir, 'id.pub'), 'utf8');
    const added = await request(server)
      .post('/v1/keys')
      .set(auth)
      .send({ key, comment: 'alice laptop', role: 'deployer', apps: ['shop'] });
    expect(added.status).toBe(200);
    const listed = await request(server).get('/v1/keys').set(auth);
    expect(listed.body).toMatchObject({ keys: [{ comment: 'alice laptop', role: 'deployer', apps: ['shop'] }] });
    const before = readFileSync(keysFile, 'utf8');
    for (const body of [
      { key, comment: '--role=admin' },
      { key, role: 'root' },
      { key: 'not a key' },
      { key, comment: 'again' },
      { key, apps: ['../etc'] },
    ]) {
      const refused = await request(server).post('/v1/keys').set(auth).send(body);
      expect(refused.status).toBe(400);
      expect(refused.body).toHaveProperty('error');
    }
    expect((await request(server).delete('/v1/keys/--all').set(auth)).status).toBe(400);
    expect(readFileSync(keysFile, 'utf8')).toBe(before);
    expect((await request(server).delete('/v1/keys/alice%20laptop').set(auth)).status).toBe(200);
    expect(readFileSync(keysFile, 'utf8')).not.toContain(key.split(' ')[1]);
    expect((await request(server).get('/v1/keys')).status).toBe(401);
  });
});
