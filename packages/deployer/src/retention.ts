import type Docker from 'dockerode';
import { removeOwnedImageTag } from './docker/app-removal.js';
import { appServices } from './docker/app-services.js';
import type { RegistryAuth } from './docker/images.js';
import type { DeployRecord } from './history.js';
import { splitReference } from './image-reference.js';
import { deleteTag } from './registry-tags.js';

/** The registry the deploys pushed to, as the deployer reaches it. */
export interface RetentionRegistry {
  /** `host:port`, plain HTTP. */
  address: string;
  auth?: RegistryAuth;
}

/** What releasing dropped deploys removed, and what it could not. */
export interface RetentionReport {
  /** Registry tags removed, as `host:port/repository:tag`. */
  tags: string[];
  /** Engine tags removed (the image went with its last tag). */
  images: string[];
  /** One line per image that could not be released, naming it and why. */
  failures: string[];
}

/**
 * Releases what only the deploys that fell out of `app`'s history used: for each image a dropped record pushed,
 * its tag in the registry (the manifest, left untagged, goes at the registry's next garbage collection) and its
 * tag on this engine (the image goes with its last tag; only images labelled as the app's). An image is left alone
 * when a kept record or a service the app runs now uses its reference or its digest. Never throws: what could not
 * be released is in the report's `failures`.
 */
export async function releaseDroppedImages(
  docker: Docker,
  app: string,
  dropped: readonly DeployRecord[],
  kept: readonly DeployRecord[],
  registry: RetentionRegistry,
): Promise<RetentionReport> {
  const report: RetentionReport = { tags: [], images: [], failures: [] };
  const inUse = new Set(kept.flatMap((record) => record.images.flatMap((image) => [image.reference, image.digest])));
  try {
    for (const service of await appServices(docker, app)) {
      const [reference = '', digest] = service.image.split('@');
      inUse.add(reference);
      if (digest) inUse.add(digest);
    }
  } catch (error) {
    report.failures.push(`the app's services could not be read, so no image was released: ${(error as Error).message}`);
    return report;
  }
  const released = new Set<string>();
  for (const image of dropped.flatMap((record) => record.images)) {
    if (inUse.has(image.reference) || inUse.has(image.digest) || released.has(image.reference)) continue;
    released.add(image.reference);
    const { repository, tag } = splitReference(image.reference);
    const prefix = `${registry.address}/`;
    try {
      if (tag !== '' && repository.startsWith(prefix)) {
        if (await deleteTag(registry.address, repository.slice(prefix.length), tag, registry.auth)) {
          report.tags.push(image.reference);
        }
      }
      if (await removeOwnedImageTag(docker, app, image.reference)) report.images.push(image.reference);
    } catch (error) {
      report.failures.push(`${image.reference}: ${(error as Error).message}`);
    }
  }
  return report;
}
