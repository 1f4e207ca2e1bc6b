import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { untilSignal, type Logger } from '@swarmlet/common';
import { connectEngine, ensureSwarm } from '@swarmlet/deployer';
import type { UpSettings } from './settings.js';

/** A platform process that `swarmlet up` supervises. */
interface Part {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

/**
 * Runs the platform from source on this machine: checks the Docker engine and initialises a swarm when none is
 * active, then starts the registry, the deployer agent and the git receiver as child processes of this one, wired
 * together (the agent's token is made once and kept in the data directory). Resolves with the exit code once SIGINT or SIGTERM has
 * stopped every part, or once any part exits on its own (the others are then stopped and the code is 1).
 */
export async function up(settings: UpSettings, log: Logger): Promise<number> {
  const docker = connectEngine();
  if (await ensureSwarm(docker)) log.info('initialised a single-node swarm on this engine');
  await mkdir(settings.dataDir, { recursive: true, mode: 0o700 });
  const tokenFile = await ensureToken(join(settings.dataDir, 'agent-token'));
  const agentUrl = `http://127.0.0.1:${settings.agentPort}`;
  const parts = [
    start('registry', packageMain('@swarmlet/registry'), ['serve'], {
      REGISTRY_HTTP_ADDR: `127.0.0.1:${settings.registryPort}`,
      REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: join(settings.dataDir, 'registry'),
      REGISTRY_STORAGE_DELETE_ENABLED: 'true',
    }),
    start('deployer', packageMain('@swarmlet/deployer'), ['serve'], {
      SWARMLET_AGENT_ADDR: `127.0.0.1:${settings.agentPort}`,
      SWARMLET_AGENT_TOKEN_FILE: tokenFile,
      SWARMLET_DATA_DIR: join(settings.dataDir, 'deployer'),
      SWARMLET_REGISTRY: `127.0.0.1:${settings.registryPort}`,
      ROOT_DOMAIN: settings.rootDomain,
    }),
    start('receiver', packageMain('@swarmlet/receiver'), ['serve'], {
      SWARMLET_DATA_DIR: join(settings.dataDir, 'receiver'),
      SWARMLET_SSH_PORT: String(settings.sshPort),
      SWARMLET_AUTHORIZED_KEYS: settings.authorizedKeys,
      SWARMLET_AGENT_URL: agentUrl,
      SWARMLET_AGENT_TOKEN_FILE: tokenFile,
    }),
  ];
  printNextSteps(settings);
  const first = await Promise.race([
    untilSignal().then((signal) => ({ signal, part: undefined })),
    ...parts.map((part) => part.exited.then(() => ({ signal: undefined, part }))),
  ]);
  if (first.part) log.error({ part: first.part.name }, 'a platform process exited; stopping the others');
  for (const part of parts) part.child.kill('SIGTERM');
  const codes = await Promise.all(parts.map((part) => part.exited));
  log.info('stopped');
  return first.part || codes.some((code) => code !== 0) ? 1 : 0;
}

function start(name: string, main: string, args: string[], env: Record<string, string>): Part {
  const child = spawn(process.execPath, [main, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', resolve);
  });
  return { name, child, exited };
}

async function ensureToken(path: string): Promise<string> {
  const existing = await readFile(path, 'utf8').catch(() => '');
  if (existing.trim() === '') await writeFile(path, randomBytes(32).toString('hex'), { mode: 0o600 });
  return path;
}

function packageMain(packageName: string): string {
  return join(dirname(fileURLToPath(import.meta.resolve(packageName))), 'main.js');
}

function printNextSteps(settings: UpSettings): void {
  process.stdout.write(
    [
      '',
      'Swarmlet is running from source:',
      `  registry        http://127.0.0.1:${settings.registryPort}/v2/  (data in ${join(settings.dataDir, 'registry')})`,
      `  deployer agent  http://127.0.0.1:${settings.agentPort}/health`,
      `  git receiver    ssh://git@127.0.0.1:${settings.sshPort} (keys from ${settings.authorizedKeys})`,
      `  ROOT_DOMAIN     ${settings.rootDomain}`,
      '',
      'Next:',
      '  add to ~/.ssh/config:',
      '    Host swarmlet',
      '      HostName 127.0.0.1',
      `      Port ${settings.sshPort}`,
      '      User git',
      '  in your project: git remote add swarmlet git@swarmlet:my-app && git push swarmlet master',
      `  the registry: docker push 127.0.0.1:${settings.registryPort}/<image> (no login on this local run)`,
      '  Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}
