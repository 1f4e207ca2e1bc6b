import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { RepoNameError } from './repo-name.js';
import { ensureBareRepository } from './repositories.js';

describe('ensureBareRepository', () => {
  it('creates a bare repository once, then finds it', async () => {
    const repos = join(mkdtempSync(join(tmpdir(), 'swarmlet-repos-')), 'repos');
    const first = await ensureBareRepository(repos, '/my-app.git');
    expect(first).toEqual({ app: 'my-app', path: join(repos, 'my-app.git'), created: true });
    const { stdout } = await execa('git', ['-C', first.path, 'rev-parse', '--is-bare-repository']);
    expect(stdout).toBe('true');
    expect(await ensureBareRepository(repos, 'my-app')).toMatchObject({ created: false });
  });

  it('creates nothing for a refused name', async () => {
    const root = mkdtempSync(join(tmpdir(), 'swarmlet-repos-'));
    await expect(ensureBareRepository(join(root, 'repos'), '../escape')).rejects.toThrow(RepoNameError);
    expect(readdirSync(root)).toEqual([]);
  });
});
