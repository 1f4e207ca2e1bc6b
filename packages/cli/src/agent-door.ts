import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readStdin } from '@swarmlet/common';
import { AgentClient, type VerbIo } from '@swarmlet/deployer';
import { ADMIN, runCommand } from '@swarmlet/receiver';
import type { UpSettings } from './settings.js';

/** Where the server's `swarmlet` finds the agent, besides the `npm start` settings. */
export interface AgentLocation {
  /** `SWARMLET_AGENT_URL`, when set. */
  url?: string;
  /** `SWARMLET_AGENT_TOKEN_FILE`, when set. */
  tokenFile?: string;
  /** The run directory where `swarmlet platform` notes the agent's URL (inside the deployer task), when set. */
  runDir?: string;
}

/**
 * Finds the running agent: `SWARMLET_AGENT_URL`, else the URL `swarmlet platform` noted in the run directory
 * (inside the deployer task, where the installed server's `swarmlet` runs), else `npm start`'s
 * `http://127.0.0.1:<SWARMLET_AGENT_PORT>`; and its token from `SWARMLET_AGENT_TOKEN_FILE`, else
 * `<data dir>/agent-token`.
 * @throws Error naming the token file when it cannot be read.
 */
export async function locateAgent(
  settings: UpSettings,
  location: AgentLocation,
): Promise<{ url: string; token: string }> {
  const noted =
    location.runDir === undefined
      ? undefined
      : await readFile(join(location.runDir, 'agent-url'), 'utf8').then(
          (text) => text.trim(),
          () => undefined,
        );
  const url = location.url ?? noted ?? `http://127.0.0.1:${settings.agentPort}`;
  const tokenFile = location.tokenFile ?? join(settings.dataDir, 'agent-token');
  const token = await readFile(tokenFile, 'utf8').then(
    (text) => text.trim(),
    (error: unknown) => {
      throw new Error(
        `cannot read the agent's token ${tokenFile}: ${(error as Error).message} (is the platform running here?)`,
      );
    },
  );
  return { url, token };
}

/**
 * Runs a platform command (`help`, `keys`, a day-2 verb) from this machine's shell, as the SSH door runs it for
 * an admin key: same words, output and exit status. Output goes to stdout/stderr; SIGINT, SIGTERM, SIGHUP or a closed stdout
 * end it (a log follow stops on the server at once). Resolves with the exit status.
 */
export async function runLocalCommand(args: string[], settings: UpSettings, location: AgentLocation): Promise<number> {
  const stop = new AbortController();
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const abort = (): void => {
    stop.abort();
  };
  for (const signal of signals) process.once(signal, abort);
  process.stdout.on('error', abort);
  const io: VerbIo = {
    write: (text) => {
      if (!stop.signal.aborted) process.stdout.write(text);
    },
    error: (line) => process.stderr.write(`swarmlet: ${line}\n`),
    readInput: readStdin,
    signal: stop.signal,
  };
  try {
    const needsAgent = args[0] !== 'keys' && args[0] !== 'help';
    const agent = needsAgent
      ? new AgentClient({ ...(await locateAgent(settings, location)), actor: 'server' })
      : undefined;
    return await runCommand(args, { role: ADMIN, agent, authorizedKeysPath: settings.authorizedKeys }, io);
  } finally {
    for (const signal of signals) process.off(signal, abort);
  }
}
