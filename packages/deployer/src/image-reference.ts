/**
 * Splits an image reference `registry:port/path/name:tag` (the tag defaults to `latest`) into repository and
 * tag. A digest reference (`…@sha256:…`) is returned whole as the repository with an empty tag.
 */
export function splitReference(reference: string): { repository: string; tag: string } {
  if (reference.includes('@')) return { repository: reference, tag: '' };
  const slash = reference.lastIndexOf('/');
  const colon = reference.lastIndexOf(':');
  if (colon > slash) return { repository: reference.slice(0, colon), tag: reference.slice(colon + 1) };
  return { repository: reference, tag: 'latest' };
}
