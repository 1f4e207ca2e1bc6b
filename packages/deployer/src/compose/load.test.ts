import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InterpolationError } from './interpolate.js';
import { ComposeError, loadCompose } from './load.js';

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'swarmlet-compose-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('loadCompose', () => {
  it('prefers compose.yaml, interpolates with the deploy environment', async () => {
    const dir = tree({
      'compose.yaml': 'services:\n  web:\n    image: ${SWARMLET_REGISTRY}/web\n    build: .\n',
      'docker-compose.yml': 'services:\n  other:\n    image: x\n',
    });
    const { path, compose } = await loadCompose(dir, { SWARMLET_REGISTRY: '127.0.0.1:5000' });
    expect(path).toBe(join(dir, 'compose.yaml'));
    expect(compose.services).toEqual({ web: { image: '127.0.0.1:5000/web', build: '.' } });
  });

  it('gives interpolated ports, replicas and flags their types back', async () => {
    const dir = tree({
      'compose.yml':
        'services:\n  web:\n    image: x\n    tty: ${TTY}\n    ports:\n      - target: ${INNER}\n        published: ${PORT}\n      - "80:80"\n    deploy:\n      replicas: ${REPLICAS}\n      labels:\n        traefik.enable: ${ENABLE}\n',
    });
    const { compose } = await loadCompose(dir, {
      PORT: '8080',
      INNER: '80',
      REPLICAS: '3',
      TTY: 'true',
      ENABLE: 'true',
    });
    expect(compose.services.web).toMatchObject({
      tty: true,
      ports: [{ target: 80, published: 8080 }, '80:80'],
      deploy: { replicas: 3, labels: { 'traefik.enable': 'true' } },
    });
  });

  it('uses COMPOSE_FILE inside the tree and refuses one outside it', async () => {
    const dir = tree({ 'stack.yml': 'services:\n  web:\n    image: busybox\n' });
    expect((await loadCompose(dir, { COMPOSE_FILE: 'stack.yml' })).compose.services.web?.image).toBe('busybox');
    await expect(loadCompose(dir, { COMPOSE_FILE: '../../etc/passwd' })).rejects.toThrow(
      'must name a file inside the repository',
    );
  });

  it('names the file and line of invalid YAML', async () => {
    const dir = tree({ 'docker-compose.yml': 'services:\n  web:\n    image: [unclosed\n' });
    await expect(loadCompose(dir, {})).rejects.toThrow(ComposeError);
    await expect(loadCompose(dir, {})).rejects.toThrow(/^docker-compose\.yml: invalid YAML at line \d+/);
  });

  it('names a missing required variable and where it is used', async () => {
    const dir = tree({
      'docker-compose.yml':
        'services:\n  web:\n    image: app\n    environment:\n      KEY: ${API_KEY:?set API_KEY in .env}\n',
    });
    await expect(loadCompose(dir, {})).rejects.toThrow(InterpolationError);
    await expect(loadCompose(dir, {})).rejects.toThrow('services.web.environment.KEY: API_KEY: set API_KEY in .env');
  });

  it('says which names it looked for when there is no compose file, and refuses the wrong shape', async () => {
    await expect(loadCompose(tree({}), {})).rejects.toThrow(
      'looked for compose.yaml, compose.yml, docker-compose.yaml, docker-compose.yml',
    );
    await expect(loadCompose(tree({ 'compose.yml': '- a list\n' }), {})).rejects.toThrow('the top level must be a map');
    await expect(loadCompose(tree({ 'compose.yml': 'services:\n  web: 3\n' }), {})).rejects.toThrow(
      'services.web must be a map',
    );
    await expect(loadCompose(tree({ 'compose.yml': 'services:\n  web:\n    build: 3\n' }), {})).rejects.toThrow(
      'build must be a path or a map',
    );
    await expect(loadCompose(tree({ 'compose.yml': 'services:\n  web:\n    ports: []\n' }), {})).rejects.toThrow(
      'needs an image or a build',
    );
  });
});
