#!/usr/bin/env node
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, runMain } from '@swarmlet/common';
import { isVerb, serveAgent } from '@swarmlet/deployer';
import { commandHelp } from '@swarmlet/receiver';
import { runLocalCommand } from './agent-door.js';
import { deployLocal } from './deploy.js';
import { receiverKeysDoor } from './keys-door.js';
import { health, platform } from './platform.js';
import { BUNDLED_STACKS_DIR } from './processes.js';
import { loadAgentLocation, loadPlatformSettings, loadUpSettings } from './settings.js';
import { up } from './up.js';

const HELP = `usage: swarmlet <command>

commands:
  up                          run the platform from source on this machine (registry, deployer agent, git receiver)
  deploy [PATH] [--app NAME]  deploy the git repository at PATH (default .) at its HEAD through the running agent;
                              the app is named after the directory unless --app says otherwise
  platform                    the deployer image's command: the deployer agent and the git receiver
  health                      the deployer image's health check: exit 0 when the agent answers
  agent                       the deployer agent with the keys of SWARMLET_AUTHORIZED_KEYS (up and platform run it)
  help                        show this text

operating apps (the same commands as ssh git@HOST COMMAND, through the running agent):
${commandHelp()
  .map((line) => `  ${line}`)
  .join('\n')}
  (keys: the file is SWARMLET_AUTHORIZED_KEYS, default ~/.ssh/authorized_keys; roles beside it in <file>.swarmlet-roles)

settings (environment): SWARMLET_DATA_DIR, SWARMLET_REGISTRY_PORT, SWARMLET_AGENT_PORT, SWARMLET_SSH_PORT,
ROOT_DOMAIN, SWARMLET_AUTHORIZED_KEYS; SWARMLET_AGENT_URL and SWARMLET_AGENT_TOKEN_FILE to reach another agent;
for platform also SWARMLET_STACKS_DIR, SWARMLET_RUN_DIR and the deployer agent's settings (SWARMLET_REGISTRY, ...);
up and platform pass the agent's settings on (SWARMLET_HISTORY_LIMIT: deploys kept per app, 20)
`;

runMain('swarmlet', async ([command, ...rest]) => {
  const settings = loadUpSettings(process.env, process.cwd());
  if (command === 'up' && rest.length === 0) {
    return up(settings, createLogger({ name: 'swarmlet' }));
  }
  if (command === 'agent' && rest.length === 0) {
    return serveAgent(process.env, process.cwd(), { keys: receiverKeysDoor(settings.authorizedKeys) });
  }
  if (command === 'deploy') {
    const parsed = parseDeployArgs(rest);
    if (!parsed) {
      process.stderr.write(HELP);
      return 2;
    }
    const target = {
      agentUrl: `http://127.0.0.1:${settings.agentPort}`,
      tokenFile: join(settings.dataDir, 'agent-token'),
    };
    return deployLocal(parsed.path, parsed.app, target, (line) => {
      process.stdout.write(`${line}\n`);
    });
  }
  if (command === 'keys' || isVerb(command)) {
    const code = await runLocalCommand(
      [command ?? '', ...rest],
      settings,
      loadAgentLocation(process.env, process.cwd()),
    );
    if (
      code === 0 &&
      command === 'keys' &&
      rest[0] === 'add' &&
      settings.authorizedKeys === join(homedir(), '.ssh', 'authorized_keys')
    ) {
      process.stdout.write(
        `note: ${settings.authorizedKeys} is also this machine's SSH login file: that key can log in here${rest.some((word) => word.startsWith('--role')) ? ' with a shell, whatever its swarmlet role' : ''}\n`,
      );
    }
    return code;
  }
  if ((command === 'platform' || command === 'health') && rest.length === 0) {
    const platformSettings = loadPlatformSettings(process.env, process.cwd(), BUNDLED_STACKS_DIR);
    if (command === 'health') {
      return health(platformSettings.runDir, (line) => process.stderr.write(`swarmlet health: ${line}\n`));
    }
    return platform(platformSettings, createLogger({ name: 'swarmlet' }));
  }
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(HELP);
    return 0;
  }
  process.stderr.write(
    command === undefined
      ? HELP
      : `swarmlet: unknown command ${JSON.stringify(command.slice(0, 40))}: \`swarmlet help\` lists the commands\n`,
  );
  return 2;
});

function parseDeployArgs(args: string[]): { path: string; app: string | undefined } | undefined {
  try {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { app: { type: 'string' } } });
    if (positionals.length > 1) return undefined;
    return { path: positionals[0] ?? '.', app: values.app };
  } catch {
    return undefined;
  }
}
