#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { runMain, type Env } from '@swarmlet/common';
import { HttpDeployClient } from './deploy-client.js';
import { parseRefUpdates, preReceive } from './pre-receive.js';
import { parseRepoName } from './repo-name.js';

runMain('swarmlet pre-receive', async () => {
  const say = lineWriter(process.stderr);
  const repoPath = process.cwd();
  const env: Env = process.env;
  const updates = parseRefUpdates(await readAll(process.stdin));
  return preReceive({
    app: parseRepoName(basename(repoPath)),
    repoPath,
    updates,
    quarantine: env.GIT_QUARANTINE_PATH,
    say,
    connect: async () => {
      const url = env.SWARMLET_AGENT_URL;
      if (!url) throw new Error('no deployer agent is configured (SWARMLET_AGENT_URL)');
      const tokenFile = env.SWARMLET_AGENT_TOKEN_FILE;
      const actor = env.SWARMLET_ACTOR ? { actor: env.SWARMLET_ACTOR } : {};
      if (!tokenFile) return new HttpDeployClient({ url, ...actor });
      const token = await readFile(tokenFile, 'utf8').then(
        (text) => text.trim(),
        (error: unknown) => {
          throw new Error(`cannot read the deployer agent token file ${tokenFile}: ${(error as Error).message}`);
        },
      );
      return new HttpDeployClient({ url, token, ...actor });
    },
  });
});

function lineWriter(stream: NodeJS.WriteStream): (line: string) => void {
  let broken = false;
  stream.on('error', () => {
    broken = true;
  });
  return (line) => {
    if (!broken) stream.write(`${line}\n`);
  };
}

async function readAll(stream: NodeJS.ReadStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
