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
