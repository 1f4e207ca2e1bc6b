#!/usr/bin/env node
import { createLogger, readYamlFile, runMain, untilSignal } from '@swarmlet/common';
import { loadRegistryConfig } from './config.js';
import { startRegistry } from './server.js';

const USAGE = 'usage: swarmlet-registry serve [config.yml]';

runMain('swarmlet-registry', async ([command, configPath, ...extra]) => {
  if (command !== 'serve' || extra.length > 0) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const file = configPath === undefined ? {} : readYamlFile(configPath);
  const config = loadRegistryConfig(file, process.env);
  const log = createLogger({ name: 'registry', level: config.log.level });
  const registry = await startRegistry(config, log);
  log.info({ signal: await untilSignal() }, 'stopping');
  await registry.close();
  return 0;
});
