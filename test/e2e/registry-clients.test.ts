import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { execa } from 'execa';
import { requireEngine } from '../support/docker.js';
import {
  buildLayeredImage,
  dockerCli,
  dockerHost,
  manifestDigest,
  skopeo,
  startRegistryUnderTest,
  withRegistryOutput,
  writeHtpasswd,
  type TestRegistry,
} from '../support/registries.js';

const USER = 'pusher';
const PASSWORD = 'correct horse battery staple';
const PUSHED_DIGEST = /digest: (sha256:[0-9a-f]{64}) size: \d+/;
const REFUSED = /unauthorized|no basic auth credentials|authentication required/i;

/**
 * Our registry with the clients users push with: the docker CLI through a real engine (with and without htpasswd
 * auth), skopeo with OCI and Docker schema 2 manifests, and curl. `SWARMLET_TEST_REGISTRY=peer` runs the same
 * tests against the CNCF registry to check the tests themselves.
 */
describe('registry with real clients', () => {
  const suffix = `${process.pid}-${Date.now()}`;
  const scratch = mkdtempSync(join(tmpdir(), 'swarmlet-registry-clients-'));
  const cli = dockerCli();
  const registries: TestRegistry[] = [];
  const imageIds = new Set<string>();
  let docker: Docker | undefined;

  const start = async (options: { htpasswd?: string } = {}): Promise<TestRegistry> => {
    const root = join(scratch, `root-${registries.length}`);
    mkdirSync(root);
    const registry = await startRegistryUnderTest({ root, ...options });
    registries.push(registry);
    return registry;
  };

  const build = async (engine: Docker, tag: string): Promise<string> => {
    const id = await buildLayeredImage(engine, cli, tag);
    imageIds.add(id);
    const image = await engine.getImage(id).inspect();
    expect(image.RootFS.Layers?.length).toBeGreaterThanOrEqual(5);
    return id;
  };

  const removeLocally = async (engine: Docker, id: string): Promise<void> => {
    await engine.getImage(id).remove({ force: true });
    await expect(engine.getImage(id).inspect()).rejects.toThrow();
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
    for (const registry of registries) await registry.stop();
    cli.dispose();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('takes a multi-layer image from docker push and gives the same image back to docker pull', async () => {
    const engine = await requireEngine();
    const registry = await start();
    await withRegistryOutput([registry], async () => {
      const id = await build(engine, `swarmlet-test/clients:${suffix}`);
      const remote = `${registry.host}/some/repo:v1`;
      await cli.run(['tag', id, remote]);
      const pushed = PUSHED_DIGEST.exec(await cli.run(['push', remote]))?.[1];
      expect(pushed).toMatch(/^sha256:/);

      await removeLocally(engine, id);
      const pullOutput = await cli.run(['pull', remote]);
      expect(pullOutput).toContain(`Digest: ${pushed ?? ''}`);
      expect((await engine.getImage(remote).inspect()).Id).toBe(id);

      expect(await manifestDigest(registry, 'some/repo', 'v1')).toBe(pushed);
      const tags = await fetch(`${registry.url}/v2/some/repo/tags/list`);
      expect(await tags.json()).toEqual({ name: 'some/repo', tags: ['v1'] });
    });
  }, 300_000);

  it('with htpasswd auth, serves docker only after docker login and refuses it after docker logout', async () => {
    const engine = await requireEngine();
    const htpasswd = writeHtpasswd(join(scratch, 'htpasswd'), { [USER]: PASSWORD });
    const registry = await start({ htpasswd });
    await withRegistryOutput([registry], async () => {
      const id = await build(engine, `swarmlet-test/clients-auth:${suffix}`);
      const remote = `${registry.host}/private/app:v1`;
      await cli.run(['tag', id, remote]);
      const login = ['login', registry.host, '--username', USER, '--password-stdin'];

      await expect(cli.run(['push', remote])).rejects.toThrow(REFUSED);
      await expect(cli.run(login, `${PASSWORD} but wrong`)).rejects.toThrow(/401|unauthorized/i);
      expect(await cli.run(login, PASSWORD)).toMatch(/Login Succeeded/);

      const pushed = PUSHED_DIGEST.exec(await cli.run(['push', remote]))?.[1];
      expect(pushed).toMatch(/^sha256:/);
      await removeLocally(engine, id);
      expect(await cli.run(['pull', remote])).toContain(`Digest: ${pushed ?? ''}`);
      expect((await engine.getImage(remote).inspect()).Id).toBe(id);

      const anonymous = await fetch(`${registry.url}/v2/_catalog`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm="swarmlet-test"/);
      const curl = await execa(
        'curl',
        ['--silent', '--show-error', '--fail', '--config', '-', `${registry.url}/v2/_catalog`],
        {
          input: `user = "${USER}:${PASSWORD}"\n`,
        },
      );
      expect(JSON.parse(curl.stdout)).toEqual({ repositories: ['private/app'] });

      await cli.run(['logout', registry.host]);
      await removeLocally(engine, id);
      await expect(cli.run(['pull', remote])).rejects.toThrow(REFUSED);
    });
  }, 300_000);

  it.each([
    { format: 'oci', mediaType: 'application/vnd.oci.image.manifest.v1+json', out: 'oci' },
    { format: 'v2s2', mediaType: 'application/vnd.docker.distribution.manifest.v2+json', out: 'dir' },
  ])(
    'stores a $format image from skopeo copy and gives back the same manifest digest to skopeo ($out:)',
    async ({ format, mediaType, out }) => {
      const engine = await requireEngine();
      const registry = await start();
      await withRegistryOutput([registry], async () => {
        const local = `swarmlet-test/clients-skopeo-${format}:${suffix}`;
        await build(engine, local);
        const reference = `docker://${registry.host}/skopeo/${format}:v1`;
        const digestFile = join(scratch, `${format}.digest`);
        await skopeo([
          'copy',
          '--src-daemon-host',
          dockerHost,
          '--dest-tls-verify=false',
          '--format',
          format,
          '--digestfile',
          digestFile,
          `docker-daemon:${local}`,
          reference,
        ]);
        const digest = readFileSync(digestFile, 'utf8').trim();
        expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);

        const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', reference]);
        expect(`sha256:${sha256(raw)}`).toBe(digest);
        expect(JSON.parse(raw)).toMatchObject({ mediaType });
        expect(await manifestDigest(registry, `skopeo/${format}`, 'v1')).toBe(digest);
        expect(await manifestDigest(registry, `skopeo/${format}`, digest)).toBe(digest);

        const target = join(scratch, `${format}-copy`);
        const destination = out === 'oci' ? `oci:${target}:v1` : `dir:${target}`;
        await skopeo(['copy', '--src-tls-verify=false', reference, destination]);
        if (out === 'oci') {
          const index = JSON.parse(readFileSync(join(target, 'index.json'), 'utf8')) as {
            manifests: { digest: string; mediaType: string }[];
          };
          expect(index.manifests).toEqual([expect.objectContaining({ digest, mediaType })]);
        } else {
          expect(`sha256:${sha256(readFileSync(join(target, 'manifest.json')))}`).toBe(digest);
        }
      });
    },
    300_000,
  );
});

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
