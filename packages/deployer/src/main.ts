#!/usr/bin/env node
import { createServer } from 'node:http';
import { closeServer, createLogger, listen, runMain, untilSignal } from '@swarmlet/common';
import { createAgentApp } from './agent.js';
import { loadAgentConfig } from './config.js';
import { connectEngine } from './docker/engine.js';

const USAGE = 'usage: swarmlet-deployer serve';

runMain('swarmlet-deployer', async (argv) => {
  if (argv.length !== 1 || argv[0] !== 'serve') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = loadAgentConfig(process.env);
  const log = createLogger({ name: 'deployer', level: config.logLevel });
  const server = createServer(createAgentApp(connectEngine(config.dockerSocket)).callback());
  log.info({ port: await listen(server, config.listen) }, 'deployer agent listening');
  log.info({ signal: await untilSignal() }, 'stopping');
  await closeServer(server);
  return 0;
});
