import type { Digest } from '../digest.js';
import { MEDIA_TYPES } from '../manifest.js';
import type { ManifestStore } from './manifest-store.js';

/** One entry of a referrers listing: a descriptor of a manifest whose `subject` is the asked digest. */
export interface ReferrerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** The OCI image index a referrers request is answered with. */
export interface ReferrersIndex {
  schemaVersion: 2;
  mediaType: typeof MEDIA_TYPES.ociIndex;
  manifests: ReferrerDescriptor[];
}

/**
 * The manifests of repository `name` whose `subject` is `subject`, optionally only those of `artifactType`.
 * Computed from the repository's manifests, so data written by any registry is indexed; an unknown subject
 * has an empty listing.
 */
export async function listReferrers(
  manifests: ManifestStore,
  name: string,
  subject: Digest,
  artifactType?: string,
): Promise<ReferrersIndex> {
  const entries: ReferrerDescriptor[] = [];
  for (const digest of await manifests.revisions(name)) {
    const stored = await manifests.getByDigest(name, digest).catch(() => undefined);
    const manifest = stored?.manifest;
    if (!stored || !manifest || manifest.subject?.digest.text !== subject.text) continue;
    if (artifactType !== undefined && manifest.artifactType !== artifactType) continue;
    const entry: ReferrerDescriptor = { mediaType: manifest.mediaType, digest: digest.text, size: stored.body.length };
    if (manifest.artifactType !== undefined) entry.artifactType = manifest.artifactType;
    if (manifest.annotations !== undefined) entry.annotations = manifest.annotations;
    entries.push(entry);
  }
  entries.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  return { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: entries };
}
