import type { RegistryAuth } from './docker/images.js';
import { OperationError } from './app-operations.js';
import { deleteTag, MANIFEST_TYPES } from './registry-tags.js';

/** One tag of a repository in the platform registry. */
export interface RegistryTag {
  tag: string;
  /** The manifest's digest. */
  digest: string;
  /** The image's size: its config and layers (every platform's, for an index), compressed, in bytes. */
  size: number;
}

/** One repository of the platform registry. */
export interface RegistryRepository {
  name: string;
  tags: RegistryTag[];
  /** The bytes its tags' distinct manifests, configs and layers take, each counted once. */
  diskBytes: number;
}

const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

interface Manifest {
  config?: { digest: string; size: number };
  layers?: { digest: string; size: number }[];
  manifests?: { digest: string; size: number }[];
}

/**
 * The platform registry as the dashboard shows it, read over its HTTP API (plain HTTP at `registry`, `host:port`,
 * as the swarm reaches it): repositories, tags, digests, sizes and disk use, and deleting one tag.
 */
export class RegistryCatalog {
  constructor(
    private readonly registry: string,
    private readonly auth: RegistryAuth | undefined,
  ) {}

  /** Every repository with its tags, by name. @throws Error naming the registry's answer when it refuses. */
  async repositories(): Promise<RegistryRepository[]> {
    const names: string[] = [];
    for (let page: string | undefined = '/v2/_catalog?n=1000'; page !== undefined;) {
      const response = await this.get(page);
      names.push(...(((await response.json()) as { repositories?: string[] | null }).repositories ?? []));
      page = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get('link') ?? '')?.[1];
    }
    names.sort();
    const repositories: RegistryRepository[] = [];
    for (const name of names) repositories.push(await this.repository(name));
    return repositories;
  }

  /**
   * Deletes `tag` of `repository`; the manifest and other tags stay (garbage collection removes what is left
   * untagged). @throws OperationError for a name that is not a repository or tag, or a tag that is not there.
   */
  async deleteTag(repository: string, tag: string): Promise<void> {
    if (!REPOSITORY.test(repository))
      throw new OperationError(`${JSON.stringify(repository.slice(0, 80))} is not a repository name`);
    if (!TAG.test(tag)) throw new OperationError(`${JSON.stringify(tag.slice(0, 80))} is not a tag`);
    if (!(await deleteTag(this.registry, repository, tag, this.auth))) {
      throw new OperationError(`${repository}:${tag} is not in the registry`);
    }
  }

  private async repository(name: string): Promise<RegistryRepository> {
    const listing = (await this.get(`/v2/${name}/tags/list?n=10000`)
      .then((response) => response.json())
      .catch(() => ({}))) as { tags?: string[] | null };
    const blobs = new Map<string, number>();
    const tags: RegistryTag[] = [];
    for (const tag of (listing.tags ?? []).sort()) {
      const found = await this.manifest(name, tag);
      if (!found) continue;
      blobs.set(found.digest, found.bytes);
      let size = 0;
      const count = (manifest: Manifest): void => {
        for (const blob of [...(manifest.config ? [manifest.config] : []), ...(manifest.layers ?? [])]) {
          size += blob.size;
          blobs.set(blob.digest, blob.size);
        }
      };
      count(found.manifest);
      for (const child of found.manifest.manifests ?? []) {
        const inner = await this.manifest(name, child.digest);
        if (!inner) continue;
        blobs.set(inner.digest, inner.bytes);
        count(inner.manifest);
      }
      tags.push({ tag, digest: found.digest, size });
    }
    return { name, tags, diskBytes: [...blobs.values()].reduce((sum, bytes) => sum + bytes, 0) };
  }

  private async manifest(
    name: string,
    reference: string,
  ): Promise<{ digest: string; bytes: number; manifest: Manifest } | undefined> {
    const response = await fetch(`http://${this.registry}/v2/${name}/manifests/${encodeURIComponent(reference)}`, {
      headers: { ...this.headers(), Accept: MANIFEST_TYPES },
    });
    if (!response.ok) return undefined;
    const text = await response.text();
    return {
      digest: response.headers.get('docker-content-digest') ?? reference,
      bytes: Buffer.byteLength(text),
      manifest: JSON.parse(text) as Manifest,
    };
  }

  private async get(path: string): Promise<Response> {
    const response = await fetch(`http://${this.registry}${path}`, { headers: this.headers() });
    if (!response.ok) throw new Error(`the registry at ${this.registry} answered HTTP ${response.status} to ${path}`);
    return response;
  }

  private headers(): Record<string, string> {
    const auth = this.auth;
    return auth
      ? { Authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` }
      : {};
  }
}
