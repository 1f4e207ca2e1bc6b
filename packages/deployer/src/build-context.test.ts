import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import tarStream from 'tar-stream';
import { BuildContextError, packBuildContext } from './build-context.js';

interface TarEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  linkname?: string;
  content?: string;
}

async function read(stream: NodeJS.ReadableStream): Promise<TarEntry[]> {
  const found: TarEntry[] = [];
  const extract = tarStream.extract();
  extract.on('entry', (header, body, next) => {
    const chunks: Buffer[] = [];
    body.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
    body.on('end', () => {
      found.push({
        name: header.name,
        type: header.type,
        mode: header.mode & 0o7777,
        uid: header.uid,
        gid: header.gid,
        ...(header.type === 'symlink' && { linkname: header.linkname }),
        ...(header.type === 'file' && { content: Buffer.concat(chunks).toString('utf8') }),
      });
      next();
    });
  });
  await new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
    stream.pipe(extract);
  });
  return found;
}

const names = (entries: TarEntry[]): string[] => entries.map((entry) => entry.name);

function project(files: Record<string, string>): string {
  const tree = mkdtempSync(join(tmpdir(), 'swarmlet-context-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(name.endsWith('/') ? join(tree, name) : dirname(join(tree, name)), { recursive: true });
    if (!name.endsWith('/')) writeFileSync(join(tree, name), text);
  }
  return tree;
}

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof BuildContextError) return error.message;
    throw error;
  }
  throw new Error('expected a BuildContextError');
}

describe('packBuildContext', () => {
  it('honours .dockerignore as Docker does, and always sends the Dockerfile and .dockerignore', async () => {
    const tree = project({
      'web/Dockerfile': 'FROM busybox\n',
      'web/.dockerignore': [
        '# comments and blank lines are skipped',
        '',
        'node_modules',
        '*.log',
        '!keep.log',
        '/Dockerfile',
        '.dockerignore',
        '**/*.tmp',
        'UPPER.txt',
        '',
      ].join('\n'),
      'web/node_modules/left-pad/index.js': '',
      'web/src/app.js': 'app',
      'web/src/cache.tmp': '',
      'web/src/deep/er/x.tmp': '',
      'web/debug.log': '',
      'web/keep.log': '',
      'web/upper.txt': 'case matters',
      'web/empty/': '',
      'secret.txt': 'outside the context',
    });
    const context = await packBuildContext(tree, 'web', 'Dockerfile');
    const entries = await read(context.tar);
    expect(names(entries)).toEqual([
      '.dockerignore',
      'Dockerfile',
      'empty',
      'keep.log',
      'src',
      'src/app.js',
      'src/deep',
      'src/deep/er',
      'upper.txt',
    ]);
    expect(context.entries).toEqual(names(entries));
    expect(context.dockerfile).toBe('Dockerfile');
    expect(entries.find((entry) => entry.name === 'src/app.js')).toMatchObject({ type: 'file', content: 'app' });
    expect(entries.find((entry) => entry.name === 'src')).toMatchObject({ type: 'directory' });
  });

  it('enters an excluded directory only for an exception below it, without sending the directory itself', async () => {
    const tree = project({
      Dockerfile: 'FROM busybox\n',
      '.dockerignore': 'docs\n!docs/keep.md\nvendor\n!*.md\n',
      'docs/keep.md': '',
      'docs/other.md': '',
      'docs/sub/deep.md': '',
      'vendor/readme.md': '',
      'top.md': '',
    });
    expect((await packBuildContext(tree, '.', 'Dockerfile')).entries).toEqual([
      '.dockerignore',
      'Dockerfile',
      'docs/keep.md',
      'top.md',
    ]);
  });

  it('sends a Dockerfile inside an excluded directory, alone', async () => {
    const tree = project({
      'docker/Dockerfile.prod': 'FROM busybox\n',
      'docker/notes.txt': '',
      '.dockerignore': 'docker\n',
      'app.js': '',
    });
    const context = await packBuildContext(tree, '.', 'docker/Dockerfile.prod');
    expect(context.dockerfile).toBe('docker/Dockerfile.prod');
    expect(context.entries).toEqual(['.dockerignore', 'app.js', 'docker/Dockerfile.prod']);
    expect(names(await read(context.tar))).toEqual(context.entries);
  });

  it('adds a Dockerfile from outside the context under a name that depends only on its content', async () => {
    const tree = project({ 'Dockerfile.web': 'FROM busybox\nCOPY . /app\n', 'web/app.js': '' });
    const first = await packBuildContext(tree, 'web', '../Dockerfile.web');
    expect(first.dockerfile).toMatch(/^\.dockerfile\.[0-9a-f]{16}$/);
    const entries = await read(first.tar);
    expect(names(entries)).toEqual(['app.js', first.dockerfile]);
    expect(entries.at(-1)).toMatchObject({ type: 'file', content: 'FROM busybox\nCOPY . /app\n', uid: 0, mode: 0o644 });
    expect((await packBuildContext(tree, 'web', '../Dockerfile.web')).dockerfile).toBe(first.dockerfile);
    writeFileSync(join(tree, 'Dockerfile.web'), 'FROM busybox\n');
    expect((await packBuildContext(tree, 'web', '../Dockerfile.web')).dockerfile).not.toBe(first.dockerfile);
  });

  it('sends entries owned by root with their modes, and links as links', async () => {
    const tree = project({ Dockerfile: 'FROM busybox\n', 'run.sh': '#!/bin/sh\n', 'private.key': 'k' });
    chmodSync(join(tree, 'run.sh'), 0o755);
    chmodSync(join(tree, 'private.key'), 0o666);
    symlinkSync('/etc/passwd', join(tree, 'passwd-link'));
    symlinkSync('run.sh', join(tree, 'start'));
    const entries = await read((await packBuildContext(tree, '.', 'Dockerfile')).tar);
    expect(entries).toEqual([
      {
        name: 'Dockerfile',
        type: 'file',
        mode: expect.any(Number) as number,
        uid: 0,
        gid: 0,
        content: 'FROM busybox\n',
      },
      {
        name: 'passwd-link',
        type: 'symlink',
        mode: expect.any(Number) as number,
        uid: 0,
        gid: 0,
        linkname: '/etc/passwd',
      },
      { name: 'private.key', type: 'file', mode: 0o666, uid: 0, gid: 0, content: 'k' },
      { name: 'run.sh', type: 'file', mode: 0o755, uid: 0, gid: 0, content: '#!/bin/sh\n' },
      { name: 'start', type: 'symlink', mode: expect.any(Number) as number, uid: 0, gid: 0, linkname: 'run.sh' },
    ]);
  });

  it('refuses a context or Dockerfile that leads outside the tree, also through a link, or that is missing', async () => {
    const tree = project({ 'web/Dockerfile': 'FROM busybox\n', 'web/file.txt': '', 'web/dir/': '' });
    symlinkSync('/etc', join(tree, 'web', 'escape'));
    symlinkSync('/etc/passwd', join(tree, 'web', 'Dockerfile.link'));
    const cases: [string, string, string][] = [
      ['..', 'Dockerfile', 'build context .. leads outside the repository'],
      ['/etc', 'Dockerfile', 'build context /etc leads outside the repository'],
      ['web/escape', 'Dockerfile', 'build context web/escape leads outside the repository'],
      ['missing', 'Dockerfile', 'build context missing does not exist in the repository'],
      ['web/file.txt', 'Dockerfile', 'build context web/file.txt is not a directory'],
      ['web', '../../etc/passwd', 'Dockerfile ../../etc/passwd (in build context web) leads outside the repository'],
      ['web', 'Dockerfile.link', 'Dockerfile Dockerfile.link (in build context web) leads outside the repository'],
      [
        'web',
        'Dockerfile.missing',
        'Dockerfile Dockerfile.missing (in build context web) does not exist in the repository',
      ],
      ['web', 'dir', 'Dockerfile dir (in build context web) is not a file'],
    ];
    for (const [context, dockerfile, message] of cases) {
      expect(await failure(packBuildContext(tree, context, dockerfile))).toBe(message);
    }
  });
});
