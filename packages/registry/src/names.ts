import { parseDigest, type Digest } from './digest.js';
import { RegistryError } from './errors.js';

/** The OCI distribution spec's repository name: path components of lower-case alphanumerics and separators. */
const REPOSITORY_NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;

/** The OCI distribution spec's tag. */
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** Longest repository name accepted, as the CNCF registry does. */
export const MAX_NAME_LENGTH = 255;

/**
 * Validates a repository name. A valid name is also safe as a relative path below the repositories directory:
 * no empty, `.` or `..` component, no absolute path, no character outside `[a-z0-9._/-]`.
 * @throws RegistryError NAME_INVALID.
 */
export function validateRepositoryName(name: string): string {
  if (name.length > MAX_NAME_LENGTH || !REPOSITORY_NAME.test(name)) {
    throw new RegistryError('NAME_INVALID', { name: name.slice(0, 300) });
  }
  return name;
}

/** Whether `reference` has the form of a tag. */
export function isTag(reference: string): boolean {
  return TAG.test(reference);
}

/**
 * Validates a tag.
 * @throws RegistryError TAG_INVALID.
 */
export function validateTag(tag: string): string {
  if (!isTag(tag)) throw new RegistryError('TAG_INVALID', { tag: tag.slice(0, 200) });
  return tag;
}

/** A manifest reference: a tag, or a digest. */
export type Reference = { tag: string; digest?: undefined } | { digest: Digest; tag?: undefined };

/**
 * Parses a manifest reference: a digest when it holds a `:` (a tag never does), a tag otherwise. A reference
 * that is neither names no manifest: reading it is `MANIFEST_UNKNOWN` (404, as the spec and the CNCF registry
 * answer), storing under it is `TAG_INVALID`.
 * @throws RegistryError DIGEST_INVALID for a malformed digest; `otherwise` for a reference that is neither.
 */
export function parseReference(reference: string, otherwise: 'TAG_INVALID' | 'MANIFEST_UNKNOWN'): Reference {
  if (reference.includes(':')) return { digest: parseDigest(reference) };
  if (isTag(reference)) return { tag: reference };
  throw new RegistryError(otherwise, {
    reference: reference.slice(0, 200),
    reason: 'neither a tag ([a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}) nor a digest',
  });
}
