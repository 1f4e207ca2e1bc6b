import type Docker from 'dockerode';
import { isContentName } from '../compose/file-objects.js';
import { stackFilter } from './app-services.js';

interface ServiceReferences {
  Spec?: ObjectReferences;
  PreviousSpec?: ObjectReferences;
}

interface ObjectReferences {
  TaskTemplate?: { ContainerSpec?: { Secrets?: { SecretID?: string }[]; Configs?: { ConfigID?: string }[] } };
}

/**
 * Removes the secrets and configs of stack `app` that its deploys named after their content (see
 * `withContentNames`) and that no service of the stack uses, in its spec or in the previous spec swarm would roll
 * back to. Other objects of the stack are never touched. Resolves with what it removed (`secret NAME`,
 * `config NAME`); one that swarm refuses to remove (taken into use meanwhile) is left.
 * @throws the Engine's error when the stack's services, secrets or configs cannot be listed.
 */
export async function pruneContentNamedObjects(docker: Docker, app: string): Promise<string[]> {
  const services = (await docker.listServices({ filters: stackFilter(app) })) as ServiceReferences[];
  const used = new Set<string>();
  for (const service of services) {
    for (const spec of [service.Spec, service.PreviousSpec]) {
      const container = spec?.TaskTemplate?.ContainerSpec;
      for (const secret of container?.Secrets ?? []) if (secret.SecretID) used.add(secret.SecretID);
      for (const config of container?.Configs ?? []) if (config.ConfigID) used.add(config.ConfigID);
    }
  }
  const [secrets, configs] = await Promise.all([
    docker.listSecrets({ filters: stackFilter(app) }),
    docker.listConfigs({ filters: stackFilter(app) }),
  ]);
  const unused = [
    ...secrets.map((secret) => ({ kind: 'secret', id: secret.ID, name: secret.Spec?.Name ?? '' })),
    ...configs.map((config) => ({ kind: 'config', id: config.ID, name: config.Spec?.Name ?? '' })),
  ].filter((object) => !used.has(object.id) && isContentName(app, object.name));
  const removed: string[] = [];
  for (const object of unused) {
    const handle = object.kind === 'secret' ? docker.getSecret(object.id) : docker.getConfig(object.id);
    const gone = await handle.remove().then(
      () => true,
      () => false,
    );
    if (gone) removed.push(`${object.kind} ${object.name}`);
  }
  return removed;
}
