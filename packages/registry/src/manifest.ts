import { parseDigest, type Digest } from './digest.js';
import { RegistryError } from './errors.js';

/** The manifest media types this registry stores and serves. */
export const MEDIA_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;

const SCHEMA1_TYPES = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);

/** Layer media types whose content lives elsewhere, so the registry does not hold them. */
const FOREIGN_LAYER_TYPES = new Set([
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
]);

/** A content descriptor inside a manifest. */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string; variant?: string };
}

/** A parsed, validated manifest and what the registry needs to know about it. */
export interface ParsedManifest {
  mediaType: string;
  /** True for manifest lists and image indexes, whose references are manifests. */
  isIndex: boolean;
  /** Blobs that must exist in the repository (config and layers), foreign layers excluded. */
  blobs: Digest[];
  /** Manifests that must exist in the repository (entries of an index). */
  manifests: Descriptor[];
  subject?: Descriptor;
  /** The artifact type a referrers listing reports: `artifactType`, else the config's media type. */
  artifactType?: string;
  annotations?: Record<string, string>;
}

/**
 * Parses a manifest body and checks it against its media type (`contentType`, the request's `Content-Type`, or
 * the body's `mediaType` when there is none). Schema 1 is refused with a clear message.
 * @throws RegistryError MANIFEST_INVALID naming what is wrong.
 */
export function parseManifest(body: Buffer, contentType: string | undefined): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw invalid(`the manifest is not valid JSON: ${(error as Error).message}`);
  }
  if (!isObject(json)) throw invalid('the manifest is not a JSON object');
  const declared = stringField(json, 'mediaType');
  const headerType = contentType?.split(';')[0]?.trim().toLowerCase();
  const requested =
    headerType && headerType !== 'application/json' && headerType !== 'application/octet-stream'
      ? headerType
      : undefined;
  if (json.schemaVersion === 1 || SCHEMA1_TYPES.has(requested ?? '') || SCHEMA1_TYPES.has(declared ?? '')) {
    throw invalid('Docker image manifest schema 1 is not supported: push with a current client (schema 2 or OCI)');
  }
  if (json.schemaVersion !== 2) throw invalid('schemaVersion must be 2');
  if (requested && declared && requested !== declared) {
    throw invalid(`Content-Type ${requested} does not match the manifest's mediaType ${declared}`);
  }
  const mediaType = requested ?? declared ?? ('manifests' in json ? MEDIA_TYPES.ociIndex : MEDIA_TYPES.ociManifest);
  switch (mediaType) {
    case MEDIA_TYPES.dockerManifest:
    case MEDIA_TYPES.ociManifest:
      return parseImageManifest(json, mediaType);
    case MEDIA_TYPES.dockerManifestList:
    case MEDIA_TYPES.ociIndex:
      return parseIndex(json, mediaType);
    default:
      throw invalid(`unsupported manifest media type ${mediaType}`);
  }
}

function parseImageManifest(json: Record<string, unknown>, mediaType: string): ParsedManifest {
  const config = descriptor(json.config, 'config');
  if (!Array.isArray(json.layers)) throw invalid('layers must be an array');
  const layers = json.layers.map((layer, index) => descriptor(layer, `layers[${index}]`));
  const artifactType =
    stringField(json, 'artifactType') ?? (mediaType === MEDIA_TYPES.ociManifest ? config.mediaType : undefined);
  return {
    mediaType,
    isIndex: false,
    blobs: [config, ...layers.filter((layer) => !FOREIGN_LAYER_TYPES.has(layer.mediaType))].map(
      (entry) => entry.digest,
    ),
    manifests: [],
    ...optional('subject', json.subject === undefined ? undefined : descriptor(json.subject, 'subject')),
    ...optional('artifactType', artifactType),
    ...optional('annotations', annotations(json.annotations)),
  };
}

function parseIndex(json: Record<string, unknown>, mediaType: string): ParsedManifest {
  if (!Array.isArray(json.manifests)) throw invalid('manifests must be an array');
  const manifests = json.manifests.map((entry, index) => descriptor(entry, `manifests[${index}]`));
  return {
    mediaType,
    isIndex: true,
    blobs: [],
    manifests,
    ...optional('subject', json.subject === undefined ? undefined : descriptor(json.subject, 'subject')),
    ...optional('artifactType', stringField(json, 'artifactType')),
    ...optional('annotations', annotations(json.annotations)),
  };
}

function descriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) throw invalid(`${where} must be a descriptor object`);
  const mediaType = stringField(value, 'mediaType');
  const digestText = stringField(value, 'digest');
  const size = value.size;
  if (!mediaType) throw invalid(`${where}.mediaType is missing`);
  if (!digestText) throw invalid(`${where}.digest is missing`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid(`${where}.size is invalid`);
  let digest: Digest;
  try {
    digest = parseDigest(digestText);
  } catch {
    throw invalid(`${where}.digest is not a valid digest`);
  }
  const platform = isObject(value.platform) ? (value.platform as Descriptor['platform']) : undefined;
  return {
    mediaType,
    digest,
    size,
    ...optional('artifactType', stringField(value, 'artifactType')),
    ...optional('annotations', annotations(value.annotations)),
    ...optional('platform', platform),
  };
}

function annotations(value: unknown): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value) || !Object.values(value).every((entry) => typeof entry === 'string')) {
    throw invalid('annotations must map strings to strings');
  }
  return value as Record<string, string>;
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

function stringField(object: Record<string, unknown>, key: string): string | undefined {
  const value = object[key];
  return typeof value === 'string' ? value : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(reason: string): RegistryError {
  return new RegistryError('MANIFEST_INVALID', { reason });
}
