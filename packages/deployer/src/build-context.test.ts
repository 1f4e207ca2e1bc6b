import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tarStream from 'tar-stream';
import { buildContextTar, BuildContextError } from './build-context.js';

async function entries(stream: NodeJS.ReadableStream): Promise<string[]> {
  const names: string[] = [];
  const extract = tarStream.extract();
  extract.on('entry', (header, body, next) => {
    if (header.type === 'file') names.push(header.name);
    body.on('end', next);
    body.resume();
  });
  await new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
    stream.pipe(extract);
  });
  return names.sort();
}

function project(): string {
  const tree = mkdtempSync(join(tmpdir(), 'swarmlet-context-'));
  mkdirSync(join(tree, 'web', 'node_modules', 'left-pad'), { recursive: true });
  mkdirSync(join(tree, 'web', 'src'), { recursive: true });
  writeFileSync(join(tree, 'web', 'Dockerfile'), 'FROM busybox\n');
  writeFileSync(join(tree, 'web', '.dockerignore'), 'node_modules\n*.log\nDockerfile\n.dockerignore\n!keep.log\n');
  writeFileSync(join(tree, 'web', 'node_modules', 'left-pad', 'index.js'), '');
  writeFileSync(join(tree, 'web', 'src', 'app.js'), '');
  writeFileSync(join(tree, 'web', 'debug.log'), '');
  writeFileSync(join(tree, 'web', 'keep.log'), '');
  writeFileSync(join(tree, 'secret.txt'), 'outside the context');
  return tree;
}

describe('buildContextTar', () => {
  it('sends the context as docker build would, honouring .dockerignore but always sending the Dockerfile', async () => {
    const tree = project();
    expect(await entries(await buildContextTar(tree, 'web', 'Dockerfile'))).toEqual([
      '.dockerignore',
      'Dockerfile',
      'keep.log',
      'src/app.js',
    ]);
  });

  it('refuses a context or Dockerfile outside the repository, also through a symbolic link', async () => {
    const tree = project();
    symlinkSync('/etc', join(tree, 'web', 'escape'));
    await expect(buildContextTar(tree, '..', 'Dockerfile')).rejects.toThrow(BuildContextError);
    await expect(buildContextTar(tree, 'web', '../../etc/passwd')).rejects.toThrow('is outside the repository');
    await expect(buildContextTar(tree, 'web/escape', 'Dockerfile')).rejects.toThrow('is outside the repository');
    await expect(buildContextTar(tree, 'missing', 'Dockerfile')).rejects.toThrow('does not exist');
  });
});
