import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { captureLogger } from '../../../test/support/capture.js';
import { freePort } from '../../../test/support/docker.js';
import { loadRegistryConfig } from './config.js';
import { checkHealth } from './healthcheck.js';
import { startRegistry } from './server.js';

const silent = captureLogger('test').log;

describe('checkHealth', () => {
  it('is true for a serving registry, with auth on too, and false when nothing answers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlet-health-'));
    const htpasswd = join(dir, 'htpasswd');
    writeFileSync(htpasswd, `admin:${bcrypt.hashSync('secret', 4)}\n`);
    for (const auth of [undefined, { htpasswd: { path: htpasswd } }]) {
      const port = await freePort();
      const config = loadRegistryConfig(
        { http: { addr: `127.0.0.1:${port}` }, storage: { filesystem: { rootdirectory: dir } }, ...(auth && { auth }) },
        {},
      );
      const registry = await startRegistry(config, silent);
      expect(await checkHealth(config)).toBe(true);
      await registry.close();
      expect(await checkHealth(config)).toBe(false);
    }
  });
});
