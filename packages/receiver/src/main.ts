#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { createLogger, runMain, untilSignal } from '@swarmlet/common';
import {
  addAuthorizedKey,
  AuthorizedKeysError,
  AuthorizedKeysFile,
  readAuthorizedKeys,
  removeAuthorizedKey,
} from './authorized-keys.js';
import { loadReceiverConfig, type ReceiverConfig } from './config.js';
import { loadOrCreateHostKey } from './host-key.js';
import { ensureBareRepository } from './repositories.js';
import { startReceiver } from './server.js';

const USAGE = [
  'usage: swarmlet-receiver serve                      git over SSH on SWARMLET_SSH_PORT (2222)',
  '       swarmlet-receiver init <app>                 create <data dir>/repos/<app>.git',
  '       swarmlet-receiver keys add [comment] < key.pub',
  '       swarmlet-receiver keys list',
  '       swarmlet-receiver keys remove <SHA256:fingerprint | comment>',
  'settings: SWARMLET_DATA_DIR, SWARMLET_SSH_HOST, SWARMLET_SSH_PORT, SWARMLET_AUTHORIZED_KEYS,',
  '          SWARMLET_AGENT_URL, SWARMLET_AGENT_TOKEN_FILE, SWARMLET_LOG_LEVEL',
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
  log.info({ path: authorizedKeys.path, keys: (await authorizedKeys.keys()).length }, 'authorized keys');
  const receiver = await startReceiver({
    host: config.host,
    port: config.port,
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
  const path = config.authorizedKeysPath;
  const [action, ...rest] = args;
  try {
    if (action === 'add' && rest.length <= 1) {
      const key = await addAuthorizedKey(path, await readStdin(), rest[0]);
      process.stdout.write(`added ${key.publicKey.fingerprint} ${key.comment}\n`);
      return 0;
    }
    if (action === 'list' && rest.length === 0) {
      const parsed = await readAuthorizedKeys(path);
      for (const key of parsed.keys) {
        process.stdout.write(`${key.publicKey.fingerprint} ${key.publicKey.type} ${key.comment}\n`);
      }
      for (const problem of parsed.problems) process.stderr.write(`${path} line ${problem.line}: ${problem.message}\n`);
      return 0;
    }
    if (action === 'remove' && rest.length === 1 && rest[0] !== undefined) {
      for (const key of await removeAuthorizedKey(path, rest[0])) {
        process.stdout.write(`removed ${key.publicKey.fingerprint} ${key.comment}\n`);
      }
      return 0;
    }
  } catch (error) {
    if (!(error instanceof AuthorizedKeysError)) throw error;
    process.stderr.write(`swarmlet-receiver: ${error.message}\n`);
    return 1;
  }
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
