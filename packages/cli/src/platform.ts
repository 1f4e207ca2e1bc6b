import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@swarmlet/common';
import { CLI_MAIN, ensureToken, freeLoopbackPort, packageMain, startPart, superviseParts } from './processes.js';
import type { PlatformSettings } from './settings.js';

/** Receivers wait this long for the SSH port while the task they replace drains its pushes. */
const SSH_PORT_WAIT_SECONDS = 3600;

const AGENT_URL_FILE = 'agent-url';

/**
 * `swarmlet platform`, the deployer image's command: runs the deployer agent (`swarmlet agent`) and the git receiver as children of
 * this process, their data directory closed to other users. The agent listens on a free loopback port (so a new task on the host network can start beside the
 * old one it replaces) and its URL is noted in the run directory for `swarmlet health`; the receiver seeds the
 * core repositories, and while the SSH port is still held by the task it replaces it waits for it. SIGTERM lets
 * both finish their running pushes and deploys before they exit. Resolves as {@link superviseParts} does.
 */
export async function platform(settings: PlatformSettings, log: Logger): Promise<number> {
  await mkdir(settings.dataDir, { recursive: true, mode: 0o700 });
  await chmod(settings.dataDir, 0o700);
  const tokenFile = settings.agentTokenFile ?? (await ensureToken(join(settings.dataDir, 'agent-token')));
  const agentUrl = `http://127.0.0.1:${await freeLoopbackPort()}`;
  await mkdir(settings.runDir, { recursive: true, mode: 0o700 });
  const noted = join(settings.runDir, `${AGENT_URL_FILE}.tmp`);
  await writeFile(noted, agentUrl);
  await rename(noted, join(settings.runDir, AGENT_URL_FILE));
  const parts = [
    startPart('deployer', CLI_MAIN, ['agent'], {
      SWARMLET_AUTHORIZED_KEYS: settings.authorizedKeys,
      SWARMLET_AGENT_ADDR: agentUrl.slice('http://'.length),
      SWARMLET_AGENT_TOKEN_FILE: tokenFile,
      SWARMLET_DATA_DIR: join(settings.dataDir, 'deployer'),
      SWARMLET_REPOS_DIR: join(settings.dataDir, 'receiver', 'repos'),
    }),
    startPart('receiver', packageMain('@swarmlet/receiver'), ['serve'], {
      SWARMLET_DATA_DIR: join(settings.dataDir, 'receiver'),
      SWARMLET_SSH_PORT: String(settings.sshPort),
      SWARMLET_SSH_PORT_WAIT_SECONDS: String(SSH_PORT_WAIT_SECONDS),
      SWARMLET_AUTHORIZED_KEYS: settings.authorizedKeys,
      SWARMLET_AGENT_URL: agentUrl,
      SWARMLET_AGENT_TOKEN_FILE: tokenFile,
      SWARMLET_STACKS_DIR: settings.stacksDir,
    }),
  ];
  log.info({ agent: agentUrl, ssh: settings.sshPort, data: settings.dataDir }, 'the platform is starting');
  return superviseParts(parts, log);
}

/**
 * `swarmlet health`, the deployer image's health check: resolves 0 when the agent noted in `runDir` by
 * `swarmlet platform` answers `GET /health` with 200, and 1 (with one line on `err`) otherwise. The receiver is
 * not part of it: a new task is healthy while its receiver still waits for the SSH port.
 */
export async function health(runDir: string, err: (line: string) => void): Promise<number> {
  try {
    const url = (await readFile(join(runDir, AGENT_URL_FILE), 'utf8')).trim();
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5000) });
    if (response.ok) return 0;
    err(`the deployer agent answered HTTP ${response.status}`);
  } catch (error) {
    err(`the deployer agent does not answer: ${(error as Error).message}`);
  }
  return 1;
}
