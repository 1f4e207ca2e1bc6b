import type { RegistryAuth } from './docker/images.js';

/** The manifest media types the deployer accepts from the registry (indexes and images, OCI and Docker). */
export const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/**
 * Deletes every tag of `repository` (a name without the registry host, e.g. `my-app-web`) from the registry at
 * `registry` (`host:port`, plain HTTP as the swarm reaches it), by deleting the manifest each tag names. Resolves
 * with the tags removed; a repository the registry does not know has none.
 * @throws Error naming the repository and the registry's answer when it refuses (deletes not enabled, say).
 */
export async function deleteRepositoryTags(
  registry: string,
  repository: string,
  auth: RegistryAuth | undefined,
): Promise<string[]> {
  const base = `http://${registry}/v2/${repository}`;
  const headers = authorization(auth);
  const listing = await fetch(`${base}/tags/list?n=10000`, { headers });
  if (listing.status === 404) return [];
  if (!listing.ok) throw new Error(`${registry}/${repository}: listing its tags answered HTTP ${listing.status}`);
  const tags = ((await listing.json()) as { tags?: string[] | null }).tags ?? [];
  const digests = new Set<string>();
  for (const tag of tags) {
    const head = await fetch(`${base}/manifests/${tag}`, {
      method: 'HEAD',
      headers: { ...headers, Accept: MANIFEST_TYPES },
    });
    const digest = head.headers.get('docker-content-digest');
    if (head.ok && digest) digests.add(digest);
  }
  for (const digest of digests) {
    const removed = await fetch(`${base}/manifests/${digest}`, { method: 'DELETE', headers });
    if (!removed.ok && removed.status !== 404) {
      throw new Error(
        `${registry}/${repository}: deleting ${digest} answered HTTP ${removed.status}${removed.status === 405 ? ' (the registry does not allow deletes: REGISTRY_STORAGE_DELETE_ENABLED)' : ''}`,
      );
    }
  }
  return tags;
}

/**
 * Deletes one tag of `repository` from the registry at `registry` (`host:port`, plain HTTP), leaving the manifest
 * it named and the repository's other tags in place (the registry's garbage collection removes a manifest left
 * untagged). Resolves with whether the tag was there.
 * @throws Error naming the tag and the registry's answer when it refuses (deletes not enabled, say).
 */
export async function deleteTag(
  registry: string,
  repository: string,
  tag: string,
  auth: RegistryAuth | undefined,
): Promise<boolean> {
  const removed = await fetch(`http://${registry}/v2/${repository}/manifests/${encodeURIComponent(tag)}`, {
    method: 'DELETE',
    headers: authorization(auth),
  });
  if (removed.status === 404) return false;
  if (!removed.ok) {
    throw new Error(
      `${registry}/${repository}:${tag}: deleting the tag answered HTTP ${removed.status}${removed.status === 405 ? ' (the registry does not allow deletes: REGISTRY_STORAGE_DELETE_ENABLED)' : ''}`,
    );
  }
  return true;
}

function authorization(auth: RegistryAuth | undefined): Record<string, string> {
  return auth ? { Authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` } : {};
}
