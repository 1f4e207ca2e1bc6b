import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@swarmlet/common';
import { captureJsonLines } from '../../../test/support/capture.js';
import { freePort } from '../../../test/support/docker.js';
import { writeHtpasswd } from '../../../test/support/registries.js';
import { loadRegistryConfig } from './config.js';
import { routeOf } from './metrics.js';
import { startRegistry } from './server.js';

describe('GET /metrics', () => {
  it('answers the Prometheus text format behind the registry auth, with counters that follow the requests', async () => {
    const root = mkdtempSync(join(tmpdir(), 'swarmlet-metrics-'));
    const port = await freePort();
    const config = loadRegistryConfig(
      {
        storage: { filesystem: { rootdirectory: root } },
        http: { addr: `127.0.0.1:${String(port)}` },
        auth: { htpasswd: { realm: 'test', path: writeHtpasswd(join(root, 'htpasswd'), { admin: 'pw' }) } },
      },
      {},
    );
    const registry = await startRegistry(config, createLogger({ name: 'r', destination: captureJsonLines().stream }));
    const base = `http://127.0.0.1:${String(port)}`;
    const authorization = `Basic ${Buffer.from('admin:pw').toString('base64')}`;
    const scrape = async () => {
      const response = await fetch(`${base}/metrics`, { headers: { Authorization: authorization } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      return response.text();
    };
    try {
      const anonymous = await fetch(`${base}/metrics`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toBe('Basic realm="test"');

      const before = await scrape();
      expect(before).toContain('# TYPE registry_http_requests_total counter');
      expect(before).toContain('registry_uploads_in_flight 0');
      const layer = Buffer.alloc(64 * 1024, 7);
      const upload = await fetch(`${base}/v2/team/app/blobs/uploads/`, {
        method: 'POST',
        headers: { Authorization: authorization },
      });
      expect(upload.status).toBe(202);
      const patched = await fetch(`${base}${upload.headers.get('location') ?? ''}`, {
        method: 'PATCH',
        body: layer,
        headers: { Authorization: authorization, 'Content-Type': 'application/octet-stream' },
      });
      expect(patched.status).toBe(202);
      await fetch(`${base}/v2/team/app/manifests/missing`, { headers: { Authorization: authorization } });

      const after = await scrape();
      expect(after).toContain('registry_http_requests_total{route="metrics",method="GET",status="401"} 1');
      expect(after).toContain('registry_http_requests_total{route="upload",method="PATCH",status="202"} 1');
      expect(after).toContain('registry_http_requests_total{route="manifest",method="GET",status="404"} 1');
      const received = /registry_http_received_bytes_total\{route="upload"\} (\d+)/.exec(after);
      expect(Number(received?.[1])).toBeGreaterThan(layer.length);
      expect(after).toContain('registry_uploads_in_flight 0');
      expect(after).not.toContain('team/app');
    } finally {
      await registry.close();
    }
  });

  it('labels requests by route, never by repository', () => {
    expect(routeOf('/v2/')).toBe('base');
    expect(routeOf('/v2/a/b/c/manifests/latest')).toBe('manifest');
    expect(routeOf('/v2/a/blobs/uploads/')).toBe('upload');
    expect(routeOf('/v2/a/blobs/uploads/0f0e')).toBe('upload');
    expect(routeOf('/v2/a/blobs/sha256:00')).toBe('blob');
    expect(routeOf('/v2/a/tags/list')).toBe('tags');
    expect(routeOf('/v2/a/referrers/sha256:00')).toBe('referrers');
    expect(routeOf('/v2/_catalog')).toBe('catalog');
    expect(routeOf('/favicon.ico')).toBe('other');
  });
});
