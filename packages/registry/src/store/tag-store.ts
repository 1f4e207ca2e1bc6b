import type { Digest } from '../digest.js';
import { RegistryError } from '../errors.js';
import { repositoryPath, tagCurrentLinkPath, tagIndexLinkPath, tagPath, tagsPath } from '../paths.js';
import type { StorageDriver } from '../storage/driver.js';
import { exists, listOrEmpty, readLink, writeLink } from './links.js';

/** Tags: names in `_manifests/tags/` whose `current/link` holds the digest they point at. */
export class TagStore {
  constructor(private readonly driver: StorageDriver) {}

  /** Every tag of repository `name`, sorted. @throws RegistryError NAME_UNKNOWN when the repository does not exist */
  async list(name: string): Promise<string[]> {
    if (!(await exists(this.driver, repositoryPath(name)))) throw new RegistryError('NAME_UNKNOWN', { name });
    const tags = await listOrEmpty(this.driver, tagsPath(name));
    const current = await Promise.all(tags.map(async (tag) => ((await this.resolve(name, tag)) ? tag : undefined)));
    return current.filter((tag): tag is string => tag !== undefined);
  }

  /** The digest `tag` points at, or undefined. */
  resolve(name: string, tag: string): Promise<Digest | undefined> {
    return readLink(this.driver, tagCurrentLinkPath(name, tag));
  }

  /** Points `tag` at `digest`, recording it in the tag's index as the CNCF registry does. */
  async tag(name: string, tag: string, digest: Digest): Promise<void> {
    await Promise.all([
      writeLink(this.driver, tagIndexLinkPath(name, tag, digest), digest),
      writeLink(this.driver, tagCurrentLinkPath(name, tag), digest),
    ]);
  }

  /** Removes `tag`. @throws RegistryError MANIFEST_UNKNOWN when it does not exist */
  async untag(name: string, tag: string): Promise<void> {
    if (!(await this.resolve(name, tag))) throw new RegistryError('MANIFEST_UNKNOWN', { tag });
    await this.driver.delete(tagPath(name, tag));
  }

  /** The tags that currently point at `digest`. */
  async pointingAt(name: string, digest: Digest): Promise<string[]> {
    const tags = await listOrEmpty(this.driver, tagsPath(name));
    const matches = await Promise.all(
      tags.map(async (tag) => ((await this.resolve(name, tag))?.text === digest.text ? tag : undefined)),
    );
    return matches.filter((tag): tag is string => tag !== undefined);
  }
}
