import type Docker from 'dockerode';

/**
 * The ports an image in the engine declares (`Config.ExposedPorts`: `"8080/tcp"` → `{}`), its own `EXPOSE`s and
 * its base image's. Resolves `undefined` when the engine has no such image.
 */
export async function imageExposedPorts(
  docker: Docker,
  reference: string,
): Promise<Record<string, unknown> | undefined> {
  try {
    const inspected = (await docker.getImage(reference).inspect()) as {
      Config?: { ExposedPorts?: Record<string, unknown> };
    };
    return inspected.Config?.ExposedPorts ?? {};
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}
