#!/usr/bin/env node
import { runMain } from '@swarmlet/common';
import { serveAgent } from './serve-agent.js';

const USAGE = 'usage: swarmlet-deployer serve';

runMain('swarmlet-deployer', async (argv) => {
  if (argv.length !== 1 || argv[0] !== 'serve') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  return serveAgent(process.env, process.cwd());
});
