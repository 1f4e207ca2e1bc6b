import type Docker from 'dockerode';
import { splitReference } from '../image-reference.js';
import { followProgress, type ProgressMessage } from './progress.js';

/** Credentials for a registry, sent to the engine in the request's auth header, never in a log or argv. */
export interface RegistryAuth {
  username: string;
  password: string;
  /** The registry's address as it appears in image references, e.g. `127.0.0.1:5000`. */
  serveraddress: string;
}

/** What to build: a tar of the context and the build definition's settings. */
export interface BuildRequest {
  /** The build context as a tar stream (see `build-context.ts`). */
  context: NodeJS.ReadableStream;
  /** The Dockerfile's path inside the context. */
  dockerfile: string;
  /** The reference the image is tagged with. */
  tag: string;
  buildArgs?: Record<string, string>;
  target?: string;
  labels?: Record<string, string>;
  /** Images whose layers may serve as cache (the previous deploy's image, `cache_from`). */
  cacheFrom?: string[];
}

/**
 * Builds an image through the Engine API, handing each output line to `onLine`. Resolves with the image ID.
 * @throws DockerStreamError naming `build` and `subject` when the build fails, with Docker's message.
 */
export async function buildImage(
  docker: Docker,
  request: BuildRequest,
  subject: string,
  onLine: (line: string) => void,
): Promise<string> {
  const stream = await docker.buildImage(request.context, {
    dockerfile: request.dockerfile,
    t: request.tag,
    rm: true,
    forcerm: true,
    ...(request.buildArgs && { buildargs: request.buildArgs }),
    ...(request.target && { target: request.target }),
    ...(request.labels && { labels: request.labels }),
    ...(request.cacheFrom?.length && { cachefrom: JSON.stringify(request.cacheFrom) }),
  });
  await followProgress(stream, 'build', subject, (message) => {
    forwardLines(message, onLine);
  });
  return (await docker.getImage(request.tag).inspect()).Id;
}

/** Adds the reference `target` to the image `source`. */
export async function tagImage(docker: Docker, source: string, target: string): Promise<void> {
  const { repository, tag } = splitReference(target);
  await docker.getImage(source).tag({ repo: repository, tag });
}

/**
 * Pushes `reference` to its registry with `auth`, handing progress lines to `onLine`. Resolves with the
 * manifest digest the registry answered.
 * @throws DockerStreamError naming `push` and the reference when the push fails.
 */
export async function pushImage(
  docker: Docker,
  reference: string,
  auth: RegistryAuth | undefined,
  onLine: (line: string) => void,
): Promise<string> {
  const { repository, tag } = splitReference(reference);
  const stream = await docker.getImage(`${repository}:${tag}`).push({ tag, ...(auth && { authconfig: auth }) });
  let digest: string | undefined;
  await followProgress(stream, 'push', reference, (message) => {
    const pushed = message.aux?.Digest;
    if (typeof pushed === 'string') digest = pushed;
    forwardLines(message, onLine);
  });
  if (!digest) throw new Error(`push of ${reference} ended without a digest`);
  return digest;
}

/** Whether the engine has an image with this reference. */
export async function hasImage(docker: Docker, reference: string): Promise<boolean> {
  try {
    await docker.getImage(reference).inspect();
    return true;
  } catch {
    return false;
  }
}

function forwardLines(message: ProgressMessage, onLine: (line: string) => void): void {
  if (message.progress) return;
  const text = message.stream ?? [message.id, message.status, message.progress].filter(Boolean).join(' ');
  for (const line of text.split('\n')) {
    if (line.trim() !== '') onLine(line.trimEnd());
  }
}
