#!/usr/bin/env node
import { createLogger, runMain } from '@swarmlet/common';
import { loadUpSettings } from './settings.js';
import { up } from './up.js';

const HELP = `usage: swarmlet <command>

commands:
  up         run the platform from source on this machine (registry, deployer agent, git receiver)
  help       show this text

settings (environment): SWARMLET_DATA_DIR, SWARMLET_REGISTRY_PORT, SWARMLET_AGENT_PORT, SWARMLET_SSH_PORT,
ROOT_DOMAIN, SWARMLET_AUTHORIZED_KEYS
`;

runMain('swarmlet', async ([command, ...rest]) => {
  if (command === 'up' && rest.length === 0) {
    return up(loadUpSettings(process.env, process.cwd()), createLogger({ name: 'swarmlet' }));
  }
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(HELP);
    return 0;
  }
  process.stderr.write(HELP);
  return 2;
});
