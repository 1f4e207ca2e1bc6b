#!/usr/bin/env node
import { join } from 'node:path';
import { runMain } from '@swarmlet/common';
import { ensureBareRepository } from './repositories.js';

const USAGE = 'usage: swarmlet-receiver init <app>   (creates <data dir>/repos/<app>.git; data dir: SWARMLET_DATA_DIR)';

runMain('swarmlet-receiver', async (argv) => {
  const [command, name, ...extra] = argv;
  if (command !== 'init' || name === undefined || extra.length > 0) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const dataDir = process.env.SWARMLET_DATA_DIR ?? '.swarmlet';
  const repo = await ensureBareRepository(join(dataDir, 'repos'), name);
  process.stdout.write(`${repo.created ? 'created' : 'exists'}: ${repo.path}\n`);
  return 0;
});
