import type Docker from 'dockerode';
import { DeployStopped } from '../deploy-stop.js';
import { splitReference } from '../image-reference.js';
import { openBuildSession } from './build-session.js';
import { decodeBuildTrace, PlainProgress } from './buildkit-trace.js';
import { abortable, engineRequest, limitedCall, type CallLimits } from './engine-request.js';
import { DockerStreamError, followProgress, type ProgressMessage } from './progress.js';

/** Credentials for a registry, sent to the engine in the request's auth header, never in a log or argv. */
export interface RegistryAuth {
  username: string;
  password: string;
  /** The registry's address as it appears in image references, e.g. `127.0.0.1:5000`. */
  serveraddress: string;
}

/** Which of the engine's builders runs a build: BuildKit, or the classic (legacy) builder. */
export type Builder = 'buildkit' | 'classic';

/** The `SWARMLET_BUILDER` setting: `auto` uses BuildKit when the engine offers it. */
export type BuilderSetting = 'auto' | Builder;

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
  /**
   * Images whose layers may serve as cache (the previous deploy's image, `cache_from`). With BuildKit they are
   * read from their registry (or the engine's images) through the inline cache each BuildKit build embeds.
   */
  cacheFrom?: string[];
  /** `classic` unless given. */
  builder?: Builder;
  /**
   * BuildKit only: build secrets, id → value, for `RUN --mount=type=secret,id=…`. Served over the engine socket
   * from memory; once a secret is served, its value is replaced by `****` in the lines handed to `onLine` and in
   * the error.
   */
  secrets?: Record<string, string>;
  /** Credentials for the platform registry, for base images and cache sources stored there. */
  registryAuth?: RegistryAuth;
  /**
   * `limits.signal` stops the build: the request is closed, and the engine stops the build with it (the running
   * step's container or BuildKit process is ended and removed). `limits.callMs` bounds the calls around it.
   */
  limits?: CallLimits;
}

/** A build that asked for a secret the deploy does not have; the build was stopped. */
export class MissingBuildSecretError extends DockerStreamError {
  constructor(
    subject: string,
    readonly secretId: string,
  ) {
    super(
      'build',
      subject,
      `the build asks for secret ${secretId} (RUN --mount=type=secret,id=${secretId}), which is not set: ` +
        `give the app a config value ${secretId}, or name one in the service's build.secrets`,
    );
    this.name = 'MissingBuildSecretError';
  }
}

/**
 * The builder a deploy uses: `classic` or `buildkit` when the setting forces one; for `auto`, BuildKit when the
 * engine offers it (a Linux engine with API 1.39 or later, where `/build?version=2` and sessions exist), the
 * classic builder otherwise. Resolves with the builder and a line saying why, for the deploy log.
 * @throws when the engine does not answer.
 */
export async function chooseBuilder(
  docker: Docker,
  setting: BuilderSetting,
  limits?: CallLimits,
): Promise<{ builder: Builder; reason: string }> {
  const version = await limitedCall(limits, 'version', () => docker.version());
  const engine = `engine ${version.Version}, API ${version.ApiVersion}`;
  if (setting !== 'auto') return { builder: setting, reason: `set by SWARMLET_BUILDER=${setting} (${engine})` };
  const [major = 0, minor = 0] = version.ApiVersion.split('.').map(Number);
  const offers = version.Os === 'linux' && (major > 1 || (major === 1 && minor >= 39));
  return offers
    ? { builder: 'buildkit', reason: `the engine offers it (${engine})` }
    : { builder: 'classic', reason: `the engine offers no BuildKit (${engine}, ${version.Os})` };
}

/**
 * Builds an image through the Engine API, handing each output line to `onLine`, and resolves with the image
 * ID. The classic builder's lines are passed on as Docker writes them (`Step 1/3 : …`); BuildKit's binary
 * status (`moby.buildkit.trace`) is decoded into the lines `docker build --progress=plain` prints, and a failed
 * step's whole output is repeated before the error. A BuildKit build embeds its cache metadata in the image
 * (`BUILDKIT_INLINE_CACHE`), so the image serves as a cache source for later builds on any engine, and opens a
 * session for the secrets and registry credentials (see `build-session.ts`), closed when the build ends.
 * @throws DockerStreamError naming `build` and `subject` when the build fails, with Docker's message;
 * MissingBuildSecretError when it asks for a secret that `request.secrets` does not hold; the reason of
 * `request.limits.signal` when it stopped the build.
 */
export async function buildImage(
  docker: Docker,
  request: BuildRequest,
  subject: string,
  onLine: (line: string) => void,
): Promise<string> {
  const served = new Set<string>();
  const redact = (text: string): string => [...served].reduce((line, value) => line.replaceAll(value, '****'), text);
  const say = (line: string): void => {
    onLine(redact(line));
  };
  const registryconfig = request.registryAuth && {
    [request.registryAuth.serveraddress]: {
      username: request.registryAuth.username,
      password: request.registryAuth.password,
    },
  };
  const query = {
    dockerfile: request.dockerfile,
    t: request.tag,
    rm: true,
    forcerm: true,
    ...(request.target && { target: request.target }),
    ...(request.labels && { labels: request.labels }),
    ...(request.cacheFrom?.length && { cachefrom: JSON.stringify(request.cacheFrom) }),
  };
  const stopped = request.limits?.signal;
  const built = (): Promise<string> =>
    limitedCall(
      request.limits,
      `inspect ${request.tag}`,
      async () => (await docker.getImage(request.tag).inspect()).Id,
    );
  if (request.builder !== 'buildkit') {
    const stream = await abortable(
      docker.buildImage(request.context, {
        ...query,
        ...(request.buildArgs && { buildargs: request.buildArgs }),
        ...(registryconfig && { registryconfig }),
        ...(stopped && { abortSignal: stopped }),
      }),
      stopped,
    );
    await abortable(
      followProgress(stream, 'build', subject, (message) => {
        forwardLines(message, say);
      }),
      stopped,
    );
    stopped?.throwIfAborted();
    return built();
  }
  stopped?.throwIfAborted();
  const abort = new AbortController();
  const stopBuild = (): void => {
    abort.abort(stopped?.reason);
  };
  stopped?.addEventListener('abort', stopBuild, { once: true });
  let missing: string | undefined;
  const session = await openBuildSession(docker, {
    secrets: request.secrets ?? {},
    ...(request.registryAuth && { registryAuth: request.registryAuth }),
    onSecretServed: (id) => {
      const value = request.secrets?.[id];
      if (value) served.add(value);
    },
    onMissingSecret: (id) => {
      missing ??= id;
      abort.abort();
    },
  });
  const progress = new PlainProgress(say);
  try {
    const stream = (await engineRequest(docker, {
      path: '/build?',
      method: 'POST',
      options: {
        ...query,
        version: '2',
        session: session.id,
        buildargs: { ...request.buildArgs, BUILDKIT_INLINE_CACHE: '1' },
      },
      file: request.context,
      isStream: true,
      abortSignal: abort.signal,
      ...(registryconfig && { registryconfig }),
      statusCodes: { 200: true, 400: 'bad parameter', 500: 'server error' },
    })) as NodeJS.ReadableStream;
    await abortable(
      followProgress(stream, 'build', subject, (message) => {
        if (message.id === 'moby.buildkit.trace' && typeof message.aux === 'string') {
          try {
            progress.write(decodeBuildTrace(message.aux));
          } catch (error) {
            say(`(a BuildKit status message could not be read: ${(error as Error).message})`);
          }
        } else if (message.id !== 'moby.image.id') {
          forwardLines(message, say);
        }
      }),
      abort.signal,
    );
    abort.signal.throwIfAborted();
    progress.end(false);
  } catch (error) {
    progress.end(true);
    if (missing !== undefined) throw new MissingBuildSecretError(subject, missing);
    if (stopped?.aborted) throw stopped.reason;
    if (error instanceof DockerStreamError) throw new DockerStreamError('build', subject, redact(error.detail));
    throw new DockerStreamError('build', subject, redact((error as Error).message));
  } finally {
    stopped?.removeEventListener('abort', stopBuild);
    session.close();
  }
  return built();
}

/** Adds the reference `target` to the image `source`, within `limits`. */
export async function tagImage(docker: Docker, source: string, target: string, limits?: CallLimits): Promise<void> {
  const { repository, tag } = splitReference(target);
  await limitedCall(limits, `tag ${target}`, (signal) =>
    docker.getImage(source).tag({ repo: repository, tag, ...(signal && { abortSignal: signal }) }),
  );
}

/**
 * Pushes `reference` to its registry with `auth`, handing progress lines to `onLine`. Resolves with the
 * manifest digest the registry answered. `signal` stops the push: the request is closed and the engine ends it.
 * @throws DockerStreamError naming `push` and the reference when the push fails; `signal`'s reason when it
 * stopped the push.
 */
export async function pushImage(
  docker: Docker,
  reference: string,
  auth: RegistryAuth | undefined,
  onLine: (line: string) => void,
  signal?: AbortSignal,
): Promise<string> {
  const { repository, tag } = splitReference(reference);
  const stream = await abortable(
    docker
      .getImage(`${repository}:${tag}`)
      .push({ tag, ...(auth && { authconfig: auth }), ...(signal && { abortSignal: signal }) }),
    signal,
  );
  let digest: string | undefined;
  await abortable(
    followProgress(stream, 'push', reference, (message) => {
      const pushed = typeof message.aux === 'object' ? message.aux.Digest : undefined;
      if (typeof pushed === 'string') digest = pushed;
      forwardLines(message, onLine);
    }),
    signal,
  );
  if (!digest) throw new Error(`push of ${reference} ended without a digest`);
  return digest;
}

/**
 * Whether the engine has an image with this reference.
 * @throws only `limits.signal`'s reason or the Engine call's time-out (see `limitedCall`).
 */
export async function hasImage(docker: Docker, reference: string, limits?: CallLimits): Promise<boolean> {
  try {
    await limitedCall(limits, `inspect ${reference}`, () => docker.getImage(reference).inspect());
    return true;
  } catch (error) {
    if (limits?.signal?.aborted || error instanceof DeployStopped) throw error;
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
