#!/usr/bin/env node
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, runMain } from '@swarmlet/common';
import { deployLocal } from './deploy.js';
import { loadUpSettings } from './settings.js';
import { up } from './up.js';

const HELP = `usage: swarmlet <command>

commands:
  up                          run the platform from source on this machine (registry, deployer agent, git receiver)
  deploy [PATH] [--app NAME]  deploy the git repository at PATH (default .) at its HEAD through the running agent;
                              the app is named after the directory unless --app says otherwise
  help                        show this text

settings (environment): SWARMLET_DATA_DIR, SWARMLET_REGISTRY_PORT, SWARMLET_AGENT_PORT, SWARMLET_SSH_PORT,
ROOT_DOMAIN, SWARMLET_AUTHORIZED_KEYS
`;

runMain('swarmlet', async ([command, ...rest]) => {
  const settings = loadUpSettings(process.env, process.cwd());
  if (command === 'up' && rest.length === 0) {
    return up(settings, createLogger({ name: 'swarmlet' }));
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
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(HELP);
    return 0;
  }
  process.stderr.write(HELP);
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
