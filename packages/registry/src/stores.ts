import { BlobStore } from './store/blob-store.js';
import { ManifestStore } from './store/manifest-store.js';
import { TagStore } from './store/tag-store.js';
import { UploadStore } from './store/upload-store.js';
import type { StorageDriver } from './storage/driver.js';

/** The registry's domain stores over one storage driver. */
export interface Stores {
  driver: StorageDriver;
  blobs: BlobStore;
  uploads: UploadStore;
  tags: TagStore;
  manifests: ManifestStore;
}

/** Builds the domain stores over `driver`. */
export function createStores(driver: StorageDriver): Stores {
  const blobs = new BlobStore(driver);
  const tags = new TagStore(driver);
  return {
    driver,
    blobs,
    uploads: new UploadStore(driver, blobs),
    tags,
    manifests: new ManifestStore(driver, blobs, tags),
  };
}
