import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@swarmlet/common';
import { captureJsonLines } from '../../../test/support/capture.js';
import { freePort, waitFor } from '../../../test/support/docker.js';
import { loadRegistryConfig } from './config.js';
import { purgeUploads } from './maintenance.js';
import { blobDataPath, uploadPath, uploadStartedAtPath } from './paths.js';
import { parseDigest } from './digest.js';
import { startRegistry } from './server.js';
import { FilesystemDriver } from './storage/filesystem.js';
import { createStores } from './stores.js';

const onDisk = (root: string, path: string) => join(root, path);

describe('storage maintenance', () => {
  it('purges uploads older than the age, including in a repository that has no layer yet, and keeps fresh ones', async () => {
    const root = mkdtempSync(join(tmpdir(), 'swarmlet-purge-'));
    const stores = createStores(new FilesystemDriver(root));
    const old = await stores.uploads.start('first/push');
    const fresh = await stores.uploads.start('first/push');
    writeFileSync(
      onDisk(root, uploadStartedAtPath('first/push', old.id)),
      new Date(Date.now() - 2 * 3_600_000).toISOString(),
    );
    expect(await purgeUploads(stores, 3_600_000, true)).toEqual([`first/push/${old.id}`]);
    expect(existsSync(onDisk(root, uploadPath('first/push', old.id)))).toBe(true);
    expect(await purgeUploads(stores, 3_600_000, false)).toEqual([`first/push/${old.id}`]);
    expect(existsSync(onDisk(root, uploadPath('first/push', old.id)))).toBe(false);
    expect(existsSync(onDisk(root, uploadPath('first/push', fresh.id)))).toBe(true);
  });

  it('runs upload purging and garbage collection on the schedule the config sets, counted in /metrics', async () => {
    const root = mkdtempSync(join(tmpdir(), 'swarmlet-schedule-'));
    const port = await freePort();
    const config = loadRegistryConfig(
      {
        storage: {
          filesystem: { rootdirectory: root },
          maintenance: {
            uploadpurging: { enabled: true, age: '1h', interval: '200ms' },
            garbagecollect: { enabled: true, interval: '300ms', grace: '0s' },
          },
        },
        http: { addr: `127.0.0.1:${String(port)}` },
      },
      {},
    );
    const log = captureJsonLines();
    const registry = await startRegistry(config, createLogger({ name: 'r', destination: log.stream }));
    const base = `http://127.0.0.1:${String(port)}`;
    try {
      const orphan = 'a blob no manifest refers to';
      const digest = `sha256:${createHash('sha256').update(orphan).digest('hex')}`;
      const pushed = await fetch(`${base}/v2/lonely/blobs/uploads/?digest=${digest}`, { method: 'POST', body: orphan });
      expect(pushed.status).toBe(201);
      const started = await fetch(`${base}/v2/lonely/blobs/uploads/`, { method: 'POST' });
      const id = (started.headers.get('docker-upload-uuid') ?? '').trim();
      writeFileSync(
        onDisk(root, uploadStartedAtPath('lonely', id)),
        new Date(Date.now() - 2 * 3_600_000).toISOString(),
      );

      const blobFile = onDisk(root, blobDataPath(parseDigest(digest)));
      await waitFor('the scheduled garbage collection to remove the orphan blob', () =>
        Promise.resolve(existsSync(blobFile) ? undefined : true),
      );
      await waitFor('the scheduled purge to remove the old upload', () =>
        Promise.resolve(existsSync(onDisk(root, uploadPath('lonely', id))) ? undefined : true),
      );
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/registry_gc_runs_total\{outcome="done"\} [1-9]/);
      expect(metrics).toMatch(/registry_gc_freed_blobs_total [1-9]/);
      expect(metrics).toContain('registry_upload_purges_total 1');
      expect(log.text()).toContain('scheduled garbage collection');
    } finally {
      await registry.close();
    }
  });

  it('reads the schedule from REGISTRY_STORAGE_MAINTENANCE_* variables and refuses a bad interval', () => {
    const config = loadRegistryConfig(
      {},
      {
        REGISTRY_STORAGE_MAINTENANCE_GARBAGECOLLECT_ENABLED: 'true',
        REGISTRY_STORAGE_MAINTENANCE_GARBAGECOLLECT_INTERVAL: '12h',
        REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_ENABLED: 'false',
      },
    );
    expect(config.storage.maintenance.garbagecollect).toMatchObject({ enabled: true, interval: 12 * 3_600_000 });
    expect(config.storage.maintenance.uploadpurging.enabled).toBe(false);
    expect(() => loadRegistryConfig({}, { REGISTRY_STORAGE_MAINTENANCE_GARBAGECOLLECT_INTERVAL: 'daily' })).toThrow(
      /REGISTRY_STORAGE_MAINTENANCE_GARBAGECOLLECT_INTERVAL/,
    );
  });
});
