import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ComposeError } from './compose-error.js';
import { InterpolationError } from './interpolate.js';
import { COMPOSE_FILE_NAMES, loadCompose } from './load.js';

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'swarmlet-compose-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const service = (image: string): string => `services:\n  web:\n    image: ${image}\n`;

async function failure(promise: Promise<unknown>): Promise<ComposeError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ComposeError) return error;
    throw error;
  }
  throw new Error('expected a ComposeError');
}

describe('loadCompose: finding the file', () => {
  it('looks for the names in the order Docker Compose prefers', async () => {
    expect(COMPOSE_FILE_NAMES).toEqual(['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml']);
    for (let index = 0; index < COMPOSE_FILE_NAMES.length; index++) {
      const present = COMPOSE_FILE_NAMES.slice(index);
      const dir = tree(Object.fromEntries(present.map((name) => [name, service(name)])));
      const loaded = await loadCompose(dir, {});
      expect(loaded.file).toBe(COMPOSE_FILE_NAMES[index]);
      expect(loaded.path).toBe(join(dir, COMPOSE_FILE_NAMES[index] ?? ''));
      expect(loaded.compose.services.web?.image).toBe(COMPOSE_FILE_NAMES[index]);
    }
  });

  it('lists the names it looked for when there is no compose file', async () => {
    const error = await failure(loadCompose(tree({ 'compose.json': '{}' }), {}));
    expect(error.message).toBe(
      'no compose file in the repository: looked for compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml',
    );
  });

  it('uses COMPOSE_FILE, relative to the tree, over the default names; an empty one counts as unset', async () => {
    const dir = tree({ 'deploy/stack.yml': service('from-stack'), 'compose.yaml': service('default') });
    const loaded = await loadCompose(dir, { COMPOSE_FILE: 'deploy/stack.yml' });
    expect(loaded).toMatchObject({ file: 'deploy/stack.yml', path: join(dir, 'deploy', 'stack.yml') });
    expect(loaded.compose.services.web?.image).toBe('from-stack');
    expect((await loadCompose(dir, { COMPOSE_FILE: '' })).file).toBe('compose.yaml');
  });

  it('refuses a COMPOSE_FILE outside the tree, missing, or naming several files', async () => {
    const outside = tree({ 'secret.yml': service('secret') });
    const dir = tree({ 'a.yml': service('a'), 'b.yml': service('b') });
    symlinkSync(join(outside, 'secret.yml'), join(dir, 'linked.yml'));
    for (const name of ['../secret.yml', join(outside, 'secret.yml'), 'linked.yml', 'sub/../../x.yml']) {
      expect((await failure(loadCompose(dir, { COMPOSE_FILE: name }))).message).toBe(
        `COMPOSE_FILE=${name} must name a file inside the repository`,
      );
    }
    expect((await failure(loadCompose(dir, { COMPOSE_FILE: 'missing.yml' }))).message).toBe(
      'COMPOSE_FILE names missing.yml, which is not in the repository',
    );
    expect((await failure(loadCompose(dir, { COMPOSE_FILE: 'a.yml:b.yml' }))).message).toBe(
      'COMPOSE_FILE names several files (a.yml, b.yml): a deploy uses one compose file',
    );
    expect(
      (await failure(loadCompose(dir, { COMPOSE_FILE: 'a.yml;b.yml', COMPOSE_PATH_SEPARATOR: ';' }))).message,
    ).toMatch(/several files \(a\.yml, b\.yml\)/);
  });

  it('refuses a default-named file that is a link leading outside the tree, or a directory', async () => {
    const outside = tree({ 'compose.yaml': service('secret') });
    const linked = tree({});
    symlinkSync(join(outside, 'compose.yaml'), join(linked, 'compose.yaml'));
    expect((await failure(loadCompose(linked, {}))).message).toBe('compose.yaml leads outside the repository');
    const directory = tree({ 'compose.yaml/inner': '' });
    expect((await failure(loadCompose(directory, {}))).message).toBe('compose.yaml is not a file');
  });

  it('follows a link that stays inside the tree', async () => {
    const dir = tree({ 'deploy/real.yml': service('linked') });
    symlinkSync('deploy/real.yml', join(dir, 'compose.yaml'));
    expect((await loadCompose(dir, {})).compose.services.web?.image).toBe('linked');
  });
});

describe('loadCompose: reading the file', () => {
  it('names the file, line and column of invalid YAML', async () => {
    const error = await failure(loadCompose(tree({ 'docker-compose.yml': 'services:\n  web:\n    image: [a\n' }), {}));
    expect(error.file).toBe('docker-compose.yml');
    expect(error.message).toMatch(/^docker-compose\.yml: invalid YAML at line 4, column 1: /);
    const duplicate = await failure(loadCompose(tree({ 'compose.yml': `${service('a')}  web:\n    image: b\n` }), {}));
    expect(duplicate.message).toMatch(/^compose\.yml: invalid YAML at line 4, column \d+: duplicated mapping key/);
    const tagged = await failure(loadCompose(tree({ 'compose.yml': 'x: !!js/function "() => 1"\n' }), {}));
    expect(tagged.message).toMatch(/^compose\.yml: invalid YAML at line 1/);
  });

  it('reads merge keys and keeps dates as text, as Compose does', async () => {
    const text =
      'x-common: &common\n  image: busybox\n  labels:\n    built: 2024-01-31\nservices:\n  web:\n    <<: *common\n';
    const { compose } = await loadCompose(tree({ 'compose.yaml': text }), {});
    expect(compose.services.web).toEqual({ image: 'busybox', labels: { built: '2024-01-31' } });
  });

  it('interpolates with the deploy environment, never the keys, and gives typed fields their types', async () => {
    const text = [
      'services:',
      '  web:',
      '    image: ${SWARMLET_REGISTRY}/web:${TAG:-latest}',
      '    tty: ${TTY}',
      '    ports:',
      '      - target: ${INNER}',
      '        published: ${PORT}',
      '      - "80:80"',
      '    deploy:',
      '      replicas: ${REPLICAS}',
      '      labels:',
      '        traefik.enable: ${ENABLE}',
      '        ${KEY}: kept',
      '',
    ].join('\n');
    const { compose } = await loadCompose(tree({ 'compose.yaml': text }), {
      SWARMLET_REGISTRY: '127.0.0.1:5000',
      PORT: '8080',
      INNER: '80',
      REPLICAS: '3',
      TTY: 'true',
      ENABLE: 'true',
      KEY: 'unused',
    });
    expect(compose.services.web).toEqual({
      image: '127.0.0.1:5000/web:latest',
      tty: true,
      ports: [{ target: 80, published: 8080 }, '80:80'],
      deploy: { replicas: 3, labels: { 'traefik.enable': 'true', '${KEY}': 'kept' } },
    });
  });

  it('names the path, the variable and the file of a missing required variable', async () => {
    const text = 'services:\n  web:\n    image: app\n    environment:\n      KEY: ${API_KEY:?set API_KEY in .env}\n';
    const error = await failure(loadCompose(tree({ 'docker-compose.yml': text }), {}));
    expect(error.message).toBe('services.web.environment.KEY: API_KEY: set API_KEY in .env (in docker-compose.yml)');
    expect(error.file).toBe('docker-compose.yml');
    expect(error.cause).toBeInstanceOf(InterpolationError);
    expect((error.cause as InterpolationError).variable).toBe('API_KEY');
    const unterminated = await failure(loadCompose(tree({ 'compose.yml': service('${REGISTRY') }), {}));
    expect(unterminated.message).toMatch(/^services\.web\.image: invalid interpolation format in "\$\{REGISTRY"/);
  });

  it('names the file and path of a wrong shape or a field of the wrong type', async () => {
    const cases: [string, string][] = [
      ['', 'compose.yml: the top level must be a map (services:, networks:, …)'],
      ['- a list\n', 'compose.yml: the top level must be a map (services:, networks:, …)'],
      ['networks: {}\n', 'compose.yml: services must map service names to their definitions'],
      ['services:\n  web: 3\n', 'compose.yml: services.web must be a map'],
      ['services:\n  web:\n    build: 3\n', 'compose.yml: services.web.build must be a path or a map'],
      ['services:\n  web:\n    ports: []\n', 'compose.yml: services.web needs an image or a build'],
      [
        `${service('x')}    deploy:\n      replicas: three\n`,
        'compose.yml: services.web.deploy.replicas must be an integer, not "three"',
      ],
      [
        '# one\n---\na: 1\n---\nb: 2\n',
        'compose.yml: invalid YAML at line 4: expected a single document in the stream, but found more',
      ],
    ];
    for (const [text, message] of cases) {
      expect((await failure(loadCompose(tree({ 'compose.yml': text }), {}))).message).toBe(message);
    }
  });
});
