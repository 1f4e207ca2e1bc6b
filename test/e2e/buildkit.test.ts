import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type Docker from 'dockerode';
import { execa } from 'execa';
import {
  buildCacheUsage,
  buildImage,
  chooseBuilder,
  Deployer,
  MissingBuildSecretError,
  packBuildContext,
  pruneBuildCache,
  pushImage,
  writeDockerConfig,
  type BuildRequest,
  type RegistryAuth,
} from '@swarmlet/deployer';
import { commitFiles } from '../support/git.js';
import { ensureStandInImage, removeStack, requireEngine } from '../support/docker.js';
import { startSwarmletRegistry, writeHtpasswd, type TestRegistry } from '../support/registries.js';

/**
 * Builds with the engine's BuildKit through the Engine API, as the deployer runs them: `RUN --mount` of every
 * kind, stages in parallel, build secrets that reach a step and nothing else, readable progress and failures,
 * the inline cache read back from the registry, the cache limit, the classic builder when forced.
 */
describe('building with BuildKit', () => {
  const work = mkdtempSync(join(tmpdir(), 'swarmlet-buildkit-'));
  const token = `${process.pid}-${Date.now()}`;
  const password = `pw-${token}`;
  const images: string[] = [];
  let docker: Docker;
  let registry: TestRegistry | undefined;
  let auth: RegistryAuth;

  const engine = (): Docker => docker;

  /** Writes `files` to a fresh directory and builds it with BuildKit; resolves with the lines and the result. */
  const build = async (
    name: string,
    files: Record<string, string>,
    options: Partial<BuildRequest> = {},
  ): Promise<{ lines: string[]; result: Promise<string> }> => {
    const dir = join(work, name);
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    const context = await packBuildContext(dir, '.', 'Dockerfile');
    const tag = options.tag ?? `swarmlet-buildkit-test/${name}:${token}`;
    images.push(tag);
    const lines: string[] = [];
    const result = buildImage(
      engine(),
      { context: context.tar, dockerfile: context.dockerfile, tag, builder: 'buildkit', ...options },
      name,
      (line) => lines.push(line),
    );
    await result.catch(() => undefined);
    return { lines, result };
  };

  const run = async (image: string, script: string): Promise<string> =>
    (await execa('docker', ['run', '--rm', image, 'sh', '-c', script])).stdout;

  beforeAll(async () => {
    docker = await requireEngine();
    await ensureStandInImage(docker, 'busybox');
    mkdirSync(join(work, 'registry'));
    registry = await startSwarmletRegistry({
      root: join(work, 'registry'),
      htpasswd: writeHtpasswd(join(work, 'htpasswd'), { deployer: password }),
    });
    auth = { username: 'deployer', password, serveraddress: registry.host };
  }, 120_000);

  afterAll(async () => {
    for (const image of images) {
      await docker
        .getImage(image)
        .remove({ force: true })
        .catch(() => undefined);
    }
    await registry?.stop();
    rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('chooses BuildKit on this engine, and the classic builder when the setting says so', async () => {
    expect(await chooseBuilder(docker, 'auto')).toMatchObject({ builder: 'buildkit' });
    expect((await chooseBuilder(docker, 'auto')).reason).toMatch(/^the engine offers it \(engine \S+, API 1\.\d+\)$/);
    expect(await chooseBuilder(docker, 'classic')).toMatchObject({
      builder: 'classic',
      reason: expect.stringMatching(/^set by SWARMLET_BUILDER=classic/) as unknown,
    });
  });

  it('runs RUN --mount of type cache, bind and tmpfs, and independent stages at the same time', async () => {
    const waitFor = (mine: string, other: string) =>
      `RUN --mount=type=cache,id=meet-${token},target=/meet touch /meet/${mine} && i=0 && ` +
      `until [ -e /meet/${other} ]; do i=$((i+1)); if [ $i -gt 600 ]; then echo "stage ${other} never ran alongside"; exit 1; fi; sleep 0.1; done && ` +
      `echo ${mine} > /${mine}.txt`;
    const { lines, result } = await build('mounts', {
      Dockerfile: [
        'FROM busybox AS one',
        waitFor('one', 'two'),
        'FROM busybox AS two',
        waitFor('two', 'one'),
        'FROM busybox',
        'COPY --from=one /one.txt /one.txt',
        'COPY --from=two /two.txt /two.txt',
        `RUN --mount=type=cache,id=cache-${token},target=/cache echo kept-${token} > /cache/kept`,
        'RUN --mount=type=bind,source=data.txt,target=/data.txt --mount=type=tmpfs,target=/scratch \\',
        '    cp /data.txt /scratch/copy && cat /scratch/copy > /bound.txt',
        `RUN --mount=type=cache,id=cache-${token},target=/cache cp /cache/kept /from-cache.txt`,
        '',
      ].join('\n'),
      'data.txt': `bound-${token}\n`,
    });
    await expect(result).resolves.toMatch(/^sha256:/);
    expect(lines).toContainEqual(expect.stringMatching(/^#\d+ \[one 2\/2\] RUN --mount=type=cache/));
    expect(lines).toContainEqual(expect.stringMatching(/^#\d+ DONE \d+\.\ds$/));
    expect(lines.join('\n')).not.toMatch(/^#\d+ \d+\.\d{3} stage \w+ never ran alongside$/m);
    const image = `swarmlet-buildkit-test/mounts:${token}`;
    expect(await run(image, 'cat /one.txt /two.txt /bound.txt /from-cache.txt; ls -A /scratch /cache')).toBe(
      ['one', 'two', `bound-${token}`, `kept-${token}`, '/cache:', '', '/scratch:'].join('\n'),
    );
  }, 180_000);

  it('serves a build secret to its step only, masks it in the log, and fails naming a secret it lacks', async () => {
    const secret = `s3cret-${token}`;
    const { lines, result } = await build(
      'secret',
      {
        Dockerfile: [
          'FROM busybox',
          `RUN --mount=type=secret,id=API_TOKEN echo ${token} && sha256sum < /run/secrets/API_TOKEN > /token.sha256 && cat /run/secrets/API_TOKEN`,
          '',
        ].join('\n'),
      },
      { secrets: { API_TOKEN: secret, UNUSED: 'unused-value' }, labels: { 'swarmlet.test': 'true' } },
    );
    await expect(result).resolves.toMatch(/^sha256:/);
    const image = `swarmlet-buildkit-test/secret:${token}`;
    const expected = (await execa('sha256sum', { input: secret })).stdout;
    expect(await run(image, 'cat /token.sha256')).toBe(expected);
    expect(lines).toContainEqual(expect.stringMatching(/^#\d+ \d+\.\d{3} \*\*\*\*$/));
    expect(lines.join('\n')).not.toContain(secret);
    const saved = Buffer.from((await execa('docker', ['save', image], { encoding: 'buffer' })).stdout);
    expect(saved.length).toBeGreaterThan(1_000_000);
    expect(saved.includes(Buffer.from(secret))).toBe(false);
    expect(saved.includes(Buffer.from(`sha256:`))).toBe(true);
    const history = (await execa('docker', ['history', '--no-trunc', image])).stdout;
    expect(history).toContain('sha256sum < /run/secrets/API_TOKEN');
    expect(history).not.toContain(secret);
    expect(JSON.stringify(await docker.getImage(image).inspect())).not.toContain(secret);

    const missing = await build('missing-secret', {
      Dockerfile: `FROM busybox\nRUN --mount=type=secret,id=NPM_TOKEN echo ${token} && cat /run/secrets/NPM_TOKEN\n`,
    });
    await expect(missing.result).rejects.toThrow(MissingBuildSecretError);
    await expect(missing.result).rejects.toThrow(
      'build of missing-secret failed: the build asks for secret NPM_TOKEN (RUN --mount=type=secret,id=NPM_TOKEN), which is not set',
    );
  }, 180_000);

  it('shows a failing step with its whole output, decoded, and fails with the exit code', async () => {
    const { lines, result } = await build('failing', {
      Dockerfile: `FROM busybox\nRUN echo first-${token} && echo second-${token} >&2 && exit 7\n`,
    });
    await expect(result).rejects.toThrow(/^build of failing failed: .*exit code: 7$/);
    const text = lines.join('\n');
    expect(text).toMatch(
      new RegExp(`#(\\d+) \\[2/2\\] RUN echo first-${token}[^\\n]*\\n(#\\1 [^\\n]*\\n)*#\\1 ERROR: `),
    );
    expect(text).toMatch(new RegExp(`#\\d+ \\d+\\.\\d{3} first-${token}`));
    expect(text).toMatch(
      new RegExp(
        `------\\n > \\[2/2\\] RUN echo first-${token}[^\\n]*:\\n(second|first)-${token}\\n(second|first)-${token}\\n------`,
      ),
    );
    expect(text).not.toMatch(/moby\.buildkit|^[A-Za-z0-9+/]{40,}={0,2}$/m);
  }, 120_000);

  it('reuses the previous image from the registry as cache when the engine has neither it nor the build cache', async () => {
    const image = `${registry?.host ?? ''}/swarmlet-buildkit-inline:latest`;
    const files = {
      Dockerfile: `FROM busybox\nRUN echo expensive-${token} > /expensive.txt\nCOPY note.txt /note.txt\n`,
      'note.txt': 'one\n',
    };
    const first = await build('inline-first', files, { tag: image, registryAuth: auth });
    await first.result;
    await pushImage(docker, image, auth, () => undefined);
    await docker.getImage(image).remove({ force: true });
    await pruneBuildCache(docker, 1, () => undefined);
    const second = await build(
      'inline-second',
      { ...files, 'note.txt': 'two\n' },
      { tag: image, registryAuth: auth, cacheFrom: [image] },
    );
    await expect(second.result).resolves.toMatch(/^sha256:/);
    const text = second.lines.join('\n');
    expect(text).toMatch(new RegExp(`#(\\d+) \\[2/3\\] RUN echo expensive-${token}[^\\n]*\\n#\\1 CACHED`));
    expect(text).toMatch(/#(\d+) \[3\/3\] COPY note.txt \/note.txt\n#\1 DONE/);
  }, 180_000);

  it('prunes the build cache down to its limit, least recently used first, and says so', async () => {
    await (
      await build('cache-fill', { Dockerfile: `FROM busybox\nRUN echo ${token} > /fill.txt\n` })
    ).result;
    const before = await buildCacheUsage(docker);
    expect(before.bytes).toBeGreaterThan(0);
    // The cache is the engine's, which other test files build into meanwhile: the check follows the records that
    // were there before the prune (the bytes they hold that no image shares), not the whole cache.
    const records = async () =>
      ((await docker.df()) as { BuildCache?: { ID: string; Size?: number; Shared?: boolean }[] | null }).BuildCache ??
      [];
    const earlier = new Set((await records()).map((record) => record.ID));
    const heldByEarlier = async () =>
      (await records())
        .filter((record) => earlier.has(record.ID) && record.Shared !== true)
        .reduce((sum, record) => sum + (record.Size ?? 0), 0);
    const held = await heldByEarlier();
    expect(held).toBeGreaterThan(0);
    const kept: string[] = [];
    const untouched = await pruneBuildCache(docker, before.bytes + 2 ** 30, (line) => kept.push(line));
    expect(untouched.pruned).toBe(false);
    expect(kept).toEqual([expect.stringMatching(/^build cache: \d.* of 1\.\d GiB in \d+ records$/)]);
    const said: string[] = [];
    const report = await pruneBuildCache(docker, 1, (line) => said.push(line));
    expect(report.pruned).toBe(true);
    expect(report.deleted).toBeGreaterThan(0);
    expect(said).toEqual([
      expect.stringMatching(
        /^build cache: .* is above the 1 B limit: pruned the \d+ least recently used records, .* reclaimed$/,
      ),
    ]);
    expect(await heldByEarlier()).toBeLessThan(held);
  }, 120_000);

  it('names what the engine built-in Dockerfile frontend lacks, and the pull error of a # syntax= frontend', async () => {
    const syntax = await build('syntax', {
      Dockerfile: '# syntax=docker/dockerfile:1.4\nFROM busybox\nCOPY --link Dockerfile /\n',
    });
    await expect(syntax.result).rejects.toThrow(/frontend gateway.*docker\/dockerfile\/manifests\/1\.4/);
    const heredoc = await build('heredoc', { Dockerfile: 'FROM busybox\nRUN <<EOT\necho heredoc\nEOT\n' });
    await expect(heredoc.result).rejects.toThrow(/dockerfile parse error line 3: unknown instruction: ECHO/);
  }, 120_000);

  describe('through the deployer', () => {
    const app = `bk-secret-${process.pid}`;
    const classicApp = `bk-classic-${process.pid}`;
    const deployers: Record<'auto' | 'classic', Deployer | undefined> = { auto: undefined, classic: undefined };

    const deployerFor = async (builder: 'auto' | 'classic'): Promise<Deployer> => {
      const existing = deployers[builder];
      if (existing) return existing;
      const created = new Deployer(docker, {
        workDir: join(work, builder, 'work'),
        historyDir: join(work, builder, 'deploys'),
        appSettingsDir: join(work, builder, 'apps'),
        registry: registry?.host ?? '',
        registryAuth: auth,
        dockerConfig: await writeDockerConfig(join(work, builder, 'docker-config'), auth),
        rootDomain: 'example.test',
        username: 'admin',
        traefikNetwork: 'traefik-public',
        version: 'latest',
        publishMode: 'host',
        path: '/usr/local/bin:/usr/bin:/bin',
        convergeTimeoutMs: 120_000,
        entrypointTimeoutMs: 30_000,
        concurrency: 1,
        builder,
      });
      deployers[builder] = created;
      return created;
    };

    const repository = async (name: string, dockerfile: string): Promise<{ dir: string; commit: string }> => {
      const dir = join(work, name);
      await execa('git', ['init', '--quiet', '-b', 'master', dir]);
      const compose = ['services:', '  worker:', '    build: .', '    command: ["sleep", "3600"]', ''].join('\n');
      return { dir, commit: await commitFiles(dir, { Dockerfile: dockerfile, 'compose.yaml': compose }, 'one') };
    };

    afterAll(async () => {
      await removeStack(docker, app, `swarmlet.app=${app}`);
      await removeStack(docker, classicApp, `swarmlet.app=${classicApp}`);
    }, 120_000);

    it('deploys with a secret from the app config that is in no image, log or deploy record', async () => {
      const secret = `deploy-secret-${token}`;
      const { dir, commit } = await repository(
        app,
        `FROM busybox\nRUN --mount=type=secret,id=DB_PASSWORD echo ${token}; cat /run/secrets/DB_PASSWORD; wc -c < /run/secrets/DB_PASSWORD > /length\n`,
      );
      const deployer = await deployerFor('auto');
      await deployer.appSettings.update(app, (settings) => ({ ...settings, config: { DB_PASSWORD: secret } }));
      const lines: string[] = [];
      const result = await deployer.deploy({ app, repository: dir, commit, branch: 'master' }, (line) =>
        lines.push(line),
      );
      expect(result).toMatchObject({ ok: true });
      expect(lines).toContainEqual(expect.stringMatching(/^builder: BuildKit, the engine offers it/));
      expect(lines).toContainEqual(expect.stringMatching(/^build cache: /));
      const image = `${registry?.host ?? ''}/${app}-worker:${commit}`;
      expect(await run(image, 'cat /length')).toBe(String(secret.length));
      const saved = Buffer.from((await execa('docker', ['save', image], { encoding: 'buffer' })).stdout);
      expect(saved.includes(Buffer.from(secret))).toBe(false);
      const log = (await deployer.history.log(app, result.deployId ?? '')) ?? '';
      expect(log).toContain('****');
      expect(log).not.toContain(secret);
      expect(lines.join('\n')).not.toContain(secret);
      expect(JSON.stringify(await deployer.history.list(app))).not.toContain(secret);
    }, 300_000);

    it('builds with the classic builder when SWARMLET_BUILDER=classic, where RUN --mount is refused', async () => {
      const { dir, commit } = await repository(classicApp, `FROM busybox\nRUN echo classic-${token} > /built\n`);
      const deployer = await deployerFor('classic');
      const lines: string[] = [];
      const result = await deployer.deploy({ app: classicApp, repository: dir, commit, branch: 'master' }, (line) =>
        lines.push(line),
      );
      expect(result).toMatchObject({ ok: true });
      expect(lines).toContainEqual(expect.stringMatching(/^builder: classic, set by SWARMLET_BUILDER=classic/));
      expect(lines).toContainEqual(expect.stringMatching(/^Step 2\/\d+ : RUN echo classic-/));
      const mount = await commitFiles(
        dir,
        { Dockerfile: 'FROM busybox\nRUN --mount=type=cache,target=/c true\n' },
        'mount',
      );
      const refused = await deployer.deploy(
        { app: classicApp, repository: dir, commit: mount, branch: 'master' },
        () => undefined,
      );
      expect(refused.error).toMatch(/build of worker failed: .*--mount.*BuildKit/);
    }, 300_000);
  });
});
