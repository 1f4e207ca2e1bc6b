import type Docker from 'dockerode';
import { execa } from 'execa';
import { stackFilter } from './app-services.js';

/** How long {@link removeAppStack} waits for the stack's tasks and containers to go. */
const REMOVAL_TIMEOUT_MS = 120_000;

/**
 * Removes `app`'s stack as `docker stack rm` does (services, networks, secrets, configs) and resolves once no
 * service, task or container of it is left on this node, removing networks the CLI could not remove while
 * containers still held them. `env` is the docker CLI's whole environment (`PATH`).
 * @throws Error when something of the stack is still there after two minutes, naming what.
 */
export async function removeAppStack(
  docker: Docker,
  app: string,
  env: Record<string, string>,
  onLine: (line: string) => void,
): Promise<void> {
  const removal = await execa('docker', ['stack', 'rm', app], { env, extendEnv: false, all: true, reject: false });
  for (const line of removal.all.split('\n')) if (line.trim() !== '') onLine(line);
  const deadline = Date.now() + REMOVAL_TIMEOUT_MS;
  for (;;) {
    const [services, tasks, containers] = await Promise.all([
      docker.listServices({ filters: stackFilter(app) }),
      docker.listTasks({ filters: stackFilter(app) }),
      docker.listContainers({ all: true, filters: stackFilter(app) }),
    ]);
    if (services.length + tasks.length + containers.length === 0) break;
    if (Date.now() > deadline) {
      throw new Error(
        `${app} is still there after ${REMOVAL_TIMEOUT_MS / 1000} s: ${services.length} services, ${tasks.length} tasks, ${containers.length} containers`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  for (const network of await docker.listNetworks({ filters: stackFilter(app) })) {
    await docker.getNetwork(network.Id).remove();
    onLine(`removed network ${network.Name}`);
  }
}

/** Removes the named volumes of `app`'s stack on this node; resolves with their names. */
export async function removeAppVolumes(docker: Docker, app: string): Promise<string[]> {
  const { Volumes: volumes } = await docker.listVolumes({ filters: stackFilter(app) });
  for (const volume of volumes) await docker.getVolume(volume.Name).remove();
  return volumes.map((volume) => volume.Name);
}

/**
 * Removes this engine's images of the app: those the deployer built for it (label `swarmlet.app=<app>`) and any
 * other tag of the given repositories (`host:port/name`, as pulled to run it). Resolves with the tags removed.
 */
export async function removeAppImages(docker: Docker, app: string, repositories: string[]): Promise<string[]> {
  const images = await docker.listImages({ all: false });
  const removed: string[] = [];
  for (const image of images) {
    const tags = (image.RepoTags ?? []).filter((tag) => tag !== '<none>:<none>');
    const ours =
      image.Labels['swarmlet.app'] === app ||
      tags.some((tag) => repositories.includes(tag.slice(0, tag.lastIndexOf(':'))));
    if (!ours) continue;
    await docker.getImage(image.Id).remove({ force: true });
    removed.push(...(tags.length > 0 ? tags : [image.Id]));
  }
  return removed;
}

/**
 * Removes this engine's tag `reference` when the image it names belongs to `app` (labels `swarmlet.managed=true`
 * and `swarmlet.app=<app>`); the image goes with its last tag, even from stopped containers of old tasks, never
 * from a running one (the engine refuses). Resolves with whether a tag was removed: false when there is no such
 * image or it is not the app's.
 * @throws Error with the engine's answer when it refuses (a running container uses the image, say).
 */
export async function removeOwnedImageTag(docker: Docker, app: string, reference: string): Promise<boolean> {
  const image = docker.getImage(reference);
  let labels: Record<string, string> | undefined;
  try {
    labels = ((await image.inspect()) as { Config?: { Labels?: Record<string, string> | null } }).Config?.Labels ?? {};
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw error;
  }
  if (labels['swarmlet.managed'] !== 'true' || labels['swarmlet.app'] !== app) return false;
  await image.remove({ force: true, noprune: false });
  return true;
}
