import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { execa } from 'execa';
import { readDeployEvents } from '@swarmlet/deployer';
import { ensureStandInImage } from '../test/support/docker.js';
import { commitFiles } from '../test/support/git.js';
import { startLocalPlatform, type LocalPlatform } from '../test/support/platform.js';
import { quantile, repeat } from './measure.js';

const APPS = process.argv.includes('--quick') ? 10 : 30;
const CALLS = 20;

/**
 * `apps` and `status APP` over SSH (the real OpenSSH client against `swarmlet up`) with APPS apps deployed, 20
 * calls each one after the other, against what a user runs on the server without Swarmlet for the same view:
 * `docker service ls` and `docker service ps APP_web`, in the same run. Prints median and p95 latencies and the
 * ratio peer / ours (above 1: ours is faster).
 */
async function main(): Promise<void> {
  const docker = new Docker({ socketPath: '/var/run/docker.sock' });
  await ensureStandInImage(docker, 'busybox');
  const work = mkdtempSync(join(tmpdir(), 'swarmlet-bench-ops-'));
  const platform = await startLocalPlatform(work);
  const apps = Array.from({ length: APPS }, (_, index) => `bench-ops-${index}`);
  try {
    const repo = join(work, 'app');
    await execa('git', ['init', '--quiet', '-b', 'master', repo]);
    const commit = await commitFiles(
      repo,
      {
        Dockerfile: 'FROM busybox\n',
        'docker-compose.yml': 'services:\n  web:\n    build: .\n    command: ["sleep", "86400"]\n',
      },
      'bench',
    );
    process.stdout.write(`deploying ${APPS} apps`);
    let next = 0;
    await repeat(APPS, 2, async () => {
      const app = apps[next] ?? '';
      next += 1;
      await deploy(platform, join(work, 'data', 'agent-token'), app, repo, commit);
      process.stdout.write('.');
    });
    process.stdout.write('\n');
    const rows = [
      await compare(
        'apps',
        () => platform.ssh(['apps']),
        () => execa('docker', ['service', 'ls']),
      ),
      await compare(
        'status APP',
        () => platform.ssh(['status', 'bench-ops-0']),
        () => execa('docker', ['service', 'ps', 'bench-ops-0_web']),
      ),
    ];
    console.log(`\nday-2 reads over SSH with ${APPS} apps deployed, ${CALLS} calls each, on this machine\n`);
    console.log('| command | ours p50 | ours p95 | peer | peer p50 | peer p95 | ratio p50 (peer / ours) |');
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    for (const row of rows) console.log(row);
  } finally {
    for (const app of apps) await execa('docker', ['stack', 'rm', app], { reject: false });
    await platform.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

async function deploy(platform: LocalPlatform, tokenFile: string, app: string, repo: string, commit: string) {
  const response = await fetch(`http://127.0.0.1:${platform.agentPort}/v1/apps/${app}/deploys`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${readFileSync(tokenFile, 'utf8').trim()}`,
      'Content-Type': 'application/json',
    },
    body: JSON.stringify({ repository: repo, commit, branch: 'master' }),
  });
  if (!response.body) throw new Error(`deploy of ${app}: HTTP ${response.status}`);
  const result = await readDeployEvents(response.body, () => undefined);
  if (!result.ok) throw new Error(`deploy of ${app} failed: ${result.error ?? ''}`);
}

async function compare(
  name: string,
  ours: () => Promise<{ exitCode?: number }>,
  peer: () => Promise<unknown>,
): Promise<string> {
  const measuredOurs = await repeat(CALLS, 1, async () => {
    const result = await ours();
    if (result.exitCode !== 0) throw new Error(`${name} failed`);
  });
  const measuredPeer = await repeat(CALLS, 1, async () => {
    await peer();
  });
  const [p50, p95] = [quantile(measuredOurs.latenciesMs, 0.5), quantile(measuredOurs.latenciesMs, 0.95)];
  const [peer50, peer95] = [quantile(measuredPeer.latenciesMs, 0.5), quantile(measuredPeer.latenciesMs, 0.95)];
  const peerName = name === 'apps' ? 'docker service ls' : 'docker service ps APP_web';
  return `| ssh ${name} | ${p50.toFixed(0)} ms | ${p95.toFixed(0)} ms | ${peerName} | ${peer50.toFixed(0)} ms | ${peer95.toFixed(0)} ms | ${(peer50 / p50).toFixed(2)} |`;
}

await main();
