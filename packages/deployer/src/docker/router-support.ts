import type Docker from 'dockerode';
import { hasImage } from './images.js';
import { followProgress } from './progress.js';

/**
 * Makes sure the attachable overlay network `name` (the one Traefik routes through) exists, labelled
 * `swarmlet.managed=true` when made here. Resolves true when it created it. Two callers racing are fine: the
 * engine refuses the second creation (duplicate names checked), which counts as there.
 */
export async function ensureOverlayNetwork(docker: Docker, name: string): Promise<boolean> {
  const existing = await docker.listNetworks({ filters: { name: [name] } });
  if (existing.some((network) => network.Name === name)) return false;
  try {
    await docker.createNetwork({
      Name: name,
      Driver: 'overlay',
      Attachable: true,
      CheckDuplicate: true,
      Labels: { 'swarmlet.managed': 'true' },
    });
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 409) return false;
    throw error;
  }
}

/**
 * Whether the engine has the image `reference` or could pull it now. Resolves with the reason when it has not
 * and cannot (the engine's own message), or `undefined` when the image is there.
 */
export async function imageUnavailable(docker: Docker, reference: string): Promise<string | undefined> {
  if (await hasImage(docker, reference)) return undefined;
  try {
    await followProgress(await docker.pull(reference), 'pull', reference);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
