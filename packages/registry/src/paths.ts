import type { Digest } from './digest.js';

/**
 * The on-disk layout, identical to the CNCF registry's (distribution 2.x) so either registry serves the
 * other's data. Every path is built here and nowhere else, from names and digests that were validated first.
 *
 * ```
 * /docker/registry/v2/
 *   blobs/<algorithm>/<first two hex>/<hex>/data              content of every blob and manifest
 *   repositories/<name>/
 *     _layers/<algorithm>/<hex>/link                          "algorithm:hex": the blob belongs to the repo
 *     _manifests/revisions/<algorithm>/<hex>/link             the manifest belongs to the repo
 *     _manifests/tags/<tag>/current/link                      the digest the tag points at
 *     _manifests/tags/<tag>/index/<algorithm>/<hex>/link      every digest the tag has pointed at
 *     _uploads/<id>/data                                      an upload in progress
 *     _uploads/<id>/startedat                                 when it started (RFC 3339)
 * ```
 */
const ROOT = '/docker/registry/v2';

/** The directory holding every blob. */
export const blobsRoot = `${ROOT}/blobs`;

/** The directory holding every repository. */
export const repositoriesRoot = `${ROOT}/repositories`;

/** Where a blob's content lives. */
export function blobDataPath(digest: Digest): string {
  return `${blobsRoot}/${digest.algorithm}/${digest.hex.slice(0, 2)}/${digest.hex}/data`;
}

/** A repository's directory. */
export function repositoryPath(name: string): string {
  return `${repositoriesRoot}/${name}`;
}

/** The link that makes a blob part of a repository. */
export function layerLinkPath(name: string, digest: Digest): string {
  return `${repositoryPath(name)}/_layers/${digest.algorithm}/${digest.hex}/link`;
}

/** The directory of a repository's manifest revisions for one algorithm. */
export function manifestRevisionsPath(name: string, algorithm: string): string {
  return `${repositoryPath(name)}/_manifests/revisions/${algorithm}`;
}

/** The link that makes a manifest part of a repository. */
export function manifestRevisionLinkPath(name: string, digest: Digest): string {
  return `${manifestRevisionsPath(name, digest.algorithm)}/${digest.hex}/link`;
}

/** The directory of a repository's tags. */
export function tagsPath(name: string): string {
  return `${repositoryPath(name)}/_manifests/tags`;
}

/** A tag's directory. */
export function tagPath(name: string, tag: string): string {
  return `${tagsPath(name)}/${tag}`;
}

/** The link holding the digest a tag points at. */
export function tagCurrentLinkPath(name: string, tag: string): string {
  return `${tagPath(name, tag)}/current/link`;
}

/** The index entry recording that a tag has pointed at a digest. */
export function tagIndexLinkPath(name: string, tag: string, digest: Digest): string {
  return `${tagPath(name, tag)}/index/${digest.algorithm}/${digest.hex}/link`;
}

/** An upload's directory. */
export function uploadPath(name: string, id: string): string {
  return `${repositoryPath(name)}/_uploads/${id}`;
}

/** The file an upload's bytes accumulate in. */
export function uploadDataPath(name: string, id: string): string {
  return `${uploadPath(name, id)}/data`;
}

/** The file recording when an upload started. */
export function uploadStartedAtPath(name: string, id: string): string {
  return `${uploadPath(name, id)}/startedat`;
}
