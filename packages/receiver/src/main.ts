#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { createLogger, runMain, untilSignal, readStdin } from '@swarmlet/common';
import { AuthorizedKeysFile } from './authorized-keys.js';
import { loadReceiverConfig, type ReceiverConfig } from './config.js';
import { seedCoreRepositories } from './core-repos.js';
import { loadOrCreateHostKey } from './host-key.js';
import { KEYS_USAGE, runKeysCommand } from './keys-command.js';
import { ensureBareRepository } from './repositories.js';
import { startReceiver } from './server.js';

const USAGE = [
  'usage: swarmlet-receiver serve                     git over SSH on SWARMLET_SSH_PORT (2222)',
  '       swarmlet-receiver init <app>                create <data dir>/repos/<app>.git',
  ...KEYS_USAGE.map((line) => `       swarmlet-receiver ${line}`),
  'settings: SWARMLET_DATA_DIR, SWARMLET_SSH_HOST, SWARMLET_SSH_PORT, SWARMLET_SSH_PORT_WAIT_SECONDS,',
  '          SWARMLET_AUTHORIZED_KEYS, SWARMLET_STACKS_DIR, SWARMLET_AGENT_URL, SWARMLET_AGENT_TOKEN_FILE,',
  '          SWARMLET_LOG_LEVEL',
].join('\n');

runMain('swarmlet-receiver', async (argv) => {
  const config = loadReceiverConfig(process.env, process.cwd());
  const [command, ...rest] = argv;
  if (command === 'serve' && rest.length === 0) return serve(config);
  if (command === 'init' && rest.length === 1 && rest[0] !== undefined) {
    const repo = await ensureBareRepository(config.reposDir, rest[0]);
    process.stdout.write(`${repo.created ? 'created' : 'exists'}: ${repo.path}\n`);
    return 0;
  }
  if (command === 'keys') return keys(config, rest);
  process.stderr.write(`${USAGE}\n`);
  return 2;
});

async function serve(config: ReceiverConfig): Promise<number> {
  const log = createLogger({ name: 'receiver', level: config.logLevel });
  const hostKey = await loadOrCreateHostKey(config.hostKeyDir);
  log.info(
    { fingerprint: hostKey.fingerprint, path: hostKey.path },
    hostKey.created ? 'generated the SSH host key' : 'loaded the SSH host key',
  );
  const authorizedKeys = new AuthorizedKeysFile(config.authorizedKeysPath, (message) => {
    log.warn(message);
  });
  const keys = await authorizedKeys.keys();
  log.info(
    {
      path: authorizedKeys.path,
      roles: authorizedKeys.rolesPath,
      admins: keys.filter((key) => key.role.role === 'admin').length,
      deployers: keys.filter((key) => key.role.role === 'deployer').length,
    },
    'authorized keys',
  );
  if (config.stacksDir) {
    const seeded = await seedCoreRepositories(config.reposDir, config.stacksDir, config.gitEnv);
    if (seeded.length > 0) log.info({ repos: seeded, from: config.stacksDir }, 'seeded the core repositories');
  }
  const receiver = await startReceiver({
    host: config.host,
    port: config.port,
    portWaitMs: config.portWaitMs,
    hostKey: hostKey.privateKey,
    authorizedKeys,
    reposDir: config.reposDir,
    hook: { node: process.execPath, script: fileURLToPath(new URL('./hook.js', import.meta.url)) },
    agent: config.agent,
    gitEnv: config.gitEnv,
    log,
  });
  log.info({ host: config.host ?? '*', port: receiver.port, repos: config.reposDir }, 'git receiver listening');
  log.info({ signal: await untilSignal() }, 'stopping; running pushes finish first');
  await receiver.close();
  return 0;
}

async function keys(config: ReceiverConfig, args: string[]): Promise<number> {
  const code = await runKeysCommand(config.authorizedKeysPath, args, {
    readInput: readStdin,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`swarmlet-receiver: ${line}\n`),
  });
  if (code !== undefined) return code;
  process.stderr.write(`${USAGE}\n`);
  return 2;
}
