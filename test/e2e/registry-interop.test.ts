import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { requireEngine } from '../support/docker.js';
import {
  buildLayeredImage,
  dockerCli,
  dockerHost,
  manifestDigest,
  skopeo,
  startPeerRegistry,
  startRegistryUnderTest,
  withRegistryOutput,
  type RegistryOptions,
  type TestRegistry,
} from '../support/registries.js';

type Start = (options: RegistryOptions) => Promise<TestRegistry>;

const PUSHED_DIGEST = /digest: (sha256:[0-9a-f]{64}) size: \d+/;

/**
 * Our registry and the CNCF registry share one on-disk layout: what one wrote under a root directory, the other,
 * started afterwards on the same root, serves unchanged to docker pull and skopeo, with the same digests and tags.
 */
describe('registry storage interop with the CNCF registry', () => {
  const suffix = `${process.pid}-${Date.now()}`;
  const scratch = mkdtempSync(join(tmpdir(), 'swarmlet-registry-interop-'));
  const cli = dockerCli();
  const running = new Set<TestRegistry>();
  const imageIds = new Set<string>();
  let docker: Docker | undefined;

  const start = async (how: Start, root: string): Promise<TestRegistry> => {
    const registry = await how({ root });
    running.add(registry);
    return registry;
  };
  const stop = async (registry: TestRegistry): Promise<void> => {
    await registry.stop();
    running.delete(registry);
  };

  beforeAll(async () => {
    docker = await requireEngine();
  });

  afterAll(async () => {
    for (const id of imageIds) {
      await docker
        ?.getImage(id)
        .remove({ force: true })
        .catch(() => undefined);
    }
    for (const registry of running) await registry.stop();
    cli.dispose();
    rmSync(scratch, { recursive: true, force: true });
  });

  it.each([
    {
      writer: 'the CNCF registry',
      reader: 'ours',
      startWriter: startPeerRegistry,
      startReader: startRegistryUnderTest,
    },
    {
      writer: 'ours',
      reader: 'the CNCF registry',
      startWriter: startRegistryUnderTest,
      startReader: startPeerRegistry,
    },
  ])(
    'serves from $reader what $writer stored on the same root',
    async ({ writer: writerName, startWriter, startReader }) => {
      const engine = await requireEngine();
      const root = join(scratch, writerName.replaceAll(' ', '-'));
      mkdirSync(root);
      const id = await buildLayeredImage(engine, cli, `swarmlet-test/interop:${suffix}`);
      imageIds.add(id);

      const writer = await start(startWriter, root);
      const written = await withRegistryOutput([writer], async () => {
        const digests: string[] = [];
        for (const tag of ['v1', 'v2']) {
          await cli.run(['tag', id, `${writer.host}/interop/app:${tag}`]);
          const output = await cli.run(['push', `${writer.host}/interop/app:${tag}`]);
          digests.push(PUSHED_DIGEST.exec(output)?.[1] ?? output);
        }
        const digestFile = join(scratch, 'oci.digest');
        await skopeo([
          'copy',
          '--src-daemon-host',
          dockerHost,
          '--dest-tls-verify=false',
          '--format',
          'oci',
          '--digestfile',
          digestFile,
          `docker-daemon:swarmlet-test/interop:${suffix}`,
          `docker://${writer.host}/interop/oci:v1`,
        ]);
        return { app: digests, oci: readFileSync(digestFile, 'utf8').trim() };
      });
      expect(written.app[0]).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(written.app[1]).toBe(written.app[0]);
      await stop(writer);

      await engine.getImage(id).remove({ force: true });
      await expect(engine.getImage(id).inspect()).rejects.toThrow();

      const reader = await start(startReader, root);
      await withRegistryOutput([reader], async () => {
        const catalog = await fetch(`${reader.url}/v2/_catalog`);
        expect(await catalog.json()).toEqual({ repositories: ['interop/app', 'interop/oci'] });
        const tags = await fetch(`${reader.url}/v2/interop/app/tags/list`);
        expect(await tags.json()).toEqual({ name: 'interop/app', tags: ['v1', 'v2'] });
        expect(await manifestDigest(reader, 'interop/app', 'v2')).toBe(written.app[0]);
        expect(await manifestDigest(reader, 'interop/oci', 'v1')).toBe(written.oci);

        const remote = `${reader.host}/interop/app:v1`;
        expect(await cli.run(['pull', remote])).toContain(`Digest: ${written.app[0] ?? ''}`);
        expect((await engine.getImage(remote).inspect()).Id).toBe(id);

        const copy = join(scratch, `${writerName.replaceAll(' ', '-')}-oci-copy`);
        await skopeo(['copy', '--src-tls-verify=false', `docker://${reader.host}/interop/oci:v1`, `oci:${copy}:v1`]);
        const index = JSON.parse(readFileSync(join(copy, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
        expect(index.manifests.map((manifest) => manifest.digest)).toEqual([written.oci]);
      });
      await stop(reader);
    },
    300_000,
  );
});
