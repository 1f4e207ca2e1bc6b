import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RegistryAuth } from './images.js';

/**
 * Writes a docker CLI configuration directory (`<dir>/config.json`, mode 0600) holding `auth` for its registry,
 * so `docker stack deploy --with-registry-auth` can forward it to the nodes without a password on any command
 * line. Resolves with the directory, to pass as `DOCKER_CONFIG`.
 */
export async function writeDockerConfig(dir: string, auth: RegistryAuth | undefined): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const auths = auth
    ? { [auth.serveraddress]: { auth: Buffer.from(`${auth.username}:${auth.password}`).toString('base64') } }
    : {};
  const file = join(dir, 'config.json');
  await writeFile(file, JSON.stringify({ auths }), { mode: 0o600 });
  await chmod(file, 0o600);
  return dir;
}
