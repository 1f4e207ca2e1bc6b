import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { execa } from 'execa';
import tar from 'tar-fs';
import { ensureStandInImage, requireEngine, waitFor } from '../../../../test/support/docker.js';
import { DeployStopped } from '../deploy-stop.js';
import { buildImage, type Builder } from './images.js';

/** The processes on this machine whose command line is exactly `sleep <seconds>` (a build step's, here). */
async function sleeping(seconds: number): Promise<string[]> {
  const found = await execa('pgrep', ['-x', '-f', `sleep ${seconds}`], { reject: false });
  return found.stdout.split('\n').filter(Boolean);
}

/**
 * A build stopped through its signal really stops in the engine, with both builders: the `RUN sleep` step's
 * process ends and no build container is left, and the build answers the signal's reason.
 */
describe('stopping a build', () => {
  const work = mkdtempSync(join(tmpdir(), 'swarmlet-build-stop-'));
  let docker: Docker;

  beforeAll(async () => {
    docker = await requireEngine();
    await ensureStandInImage(docker, 'busybox');
  }, 120_000);

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it.each<Builder>(['classic', 'buildkit'])(
    '%s: the running step ends and nothing is left',
    async (builder) => {
      const seconds = 1_000_000 + process.pid * 2 + (builder === 'buildkit' ? 1 : 0);
      const dir = mkdtempSync(join(work, 'context-'));
      writeFileSync(join(dir, 'Dockerfile'), `FROM busybox\nRUN echo started && sleep ${seconds}\n`);
      const stop = new AbortController();
      const lines: string[] = [];
      const build = buildImage(
        docker,
        {
          context: tar.pack(dir),
          dockerfile: 'Dockerfile',
          tag: `swarmlet-build-stop:${process.pid}-${builder}`,
          labels: { 'swarmlet.test': 'true' },
          builder,
          limits: { signal: stop.signal, callMs: 60_000 },
        },
        'web',
        (line) => lines.push(line),
      );
      const outcome = build.then(
        () => 'built',
        (error: unknown) => error,
      );
      await waitFor(
        `the build's sleep ${seconds}`,
        async () => ((await sleeping(seconds)).length > 0 ? true : undefined),
        {
          timeoutMs: 120_000,
        },
      );
      const reason = new DeployStopped('timed-out', 'stopped after 20 s (SWARMLET_BUILD_TIMEOUT)');
      stop.abort(reason);
      expect(await outcome).toBe(reason);
      await waitFor('the sleep to end', async () => ((await sleeping(seconds)).length === 0 ? true : undefined), {
        timeoutMs: 60_000,
      });
      await waitFor(
        'no build container left',
        async () => {
          const containers = await docker.listContainers({ all: true });
          return containers.some((container) => container.Command.includes(String(seconds))) ? undefined : true;
        },
        { timeoutMs: 60_000 },
      );
      expect(lines.join('\n')).toContain('started');
    },
    300_000,
  );
});
