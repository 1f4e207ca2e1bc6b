import type Docker from 'dockerode';
import { ensureStandInImage, requireEngine } from '../../../../test/support/docker.js';
import { pruneContentNamedObjects } from './stack-file-objects.js';

/**
 * The clean-up of content-named secrets and configs on the real engine: a stack's service that moved from one
 * secret to another keeps both (the previous spec is what swarm rolls back to); an unused content-named secret and
 * config go; a secret named by hand, and another stack's, stay.
 */
describe('pruneContentNamedObjects', () => {
  const stack = `prune-${process.pid}`;
  const other = `prune-other-${process.pid}`;
  let docker: Docker;
  const made: { kind: 'secret' | 'config'; id: string }[] = [];
  let serviceId = '';

  const create = async (kind: 'secret' | 'config', name: string, namespace = stack) => {
    const spec = {
      Name: name,
      Labels: { 'com.docker.stack.namespace': namespace, 'swarmlet.test': 'true' },
      Data: Buffer.from(name).toString('base64'),
    };
    const { id } = (kind === 'secret' ? await docker.createSecret(spec) : await docker.createConfig(spec)) as {
      id: string;
    };
    made.push({ kind, id });
    return id;
  };
  const names = async (kind: 'secret' | 'config') =>
    (kind === 'secret' ? await docker.listSecrets() : await docker.listConfigs())
      .map((object) => object.Spec?.Name ?? '')
      .filter((name) => name.includes(`${process.pid}`))
      .sort();
  const secretRef = (id: string, name: string) => ({
    SecretID: id,
    SecretName: name,
    File: { Name: 'token', UID: '0', GID: '0', Mode: 0o400 },
  });

  beforeAll(async () => {
    docker = await requireEngine();
    const image = await ensureStandInImage(docker, 'busybox');
    const first = await create('secret', `${stack}_token-aaaaaaaaaaaa`);
    const second = await create('secret', `${stack}_token-bbbbbbbbbbbb`);
    await create('secret', `${stack}_token-cccccccccccc`);
    await create('secret', `${stack}_by-hand`);
    await create('secret', `${other}_token-dddddddddddd`, other);
    await create('config', `${stack}_ini-eeeeeeeeeeee`);
    const spec = {
      Name: `${stack}_web`,
      Labels: { 'com.docker.stack.namespace': stack, 'swarmlet.test': 'true' },
      TaskTemplate: {
        ContainerSpec: {
          Image: image,
          Command: ['sleep', '3600'],
          Secrets: [secretRef(first, `${stack}_token-aaaaaaaaaaaa`)],
        },
      },
      Mode: { Replicated: { Replicas: 0 } },
    };
    const service = await docker.createService(spec);
    serviceId = service.id;
    const { Version } = (await docker.getService(serviceId).inspect()) as { Version: { Index: number } };
    await docker.getService(serviceId).update({
      version: Version.Index,
      ...spec,
      TaskTemplate: {
        ContainerSpec: {
          ...spec.TaskTemplate.ContainerSpec,
          Secrets: [secretRef(second, `${stack}_token-bbbbbbbbbbbb`)],
        },
      },
    });
  }, 120_000);

  afterAll(async () => {
    if (serviceId) await docker.getService(serviceId).remove();
    for (const object of made) {
      const handle = object.kind === 'secret' ? docker.getSecret(object.id) : docker.getConfig(object.id);
      await handle.remove().catch(() => undefined);
    }
  });

  it("removes only the stack's unused content-named objects, keeping what the spec and the previous spec use", async () => {
    expect(await pruneContentNamedObjects(docker, stack)).toEqual([
      `secret ${stack}_token-cccccccccccc`,
      `config ${stack}_ini-eeeeeeeeeeee`,
    ]);
    expect(await names('secret')).toEqual(
      [
        `${stack}_by-hand`,
        `${stack}_token-aaaaaaaaaaaa`,
        `${stack}_token-bbbbbbbbbbbb`,
        `${other}_token-dddddddddddd`,
      ].sort(),
    );
    expect(await names('config')).toEqual([]);
    expect(await pruneContentNamedObjects(docker, stack)).toEqual([]);
  });
});
