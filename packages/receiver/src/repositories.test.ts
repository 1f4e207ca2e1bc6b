import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { RepoNameError } from './repo-name.js';
import { ensureBareRepository, installPreReceiveHook, preReceiveHookScript } from './repositories.js';

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

describe('installPreReceiveHook', () => {
  it('writes an executable hook that runs the program, quoting odd paths, and rewrites it only when it changes', async () => {
    const root = mkdtempSync(join(tmpdir(), "swarmlet-hook's dir "));
    const { path } = await ensureBareRepository(join(root, 'repos'), 'hooked');
    const script = join(root, "it's a hook.mjs");
    writeFileSync(script, 'process.stderr.write(`hook ran with ${process.argv.length - 2} arguments\\n`);\n');
    expect(await installPreReceiveHook(path, { node: process.execPath, script })).toBe(true);
    expect(await installPreReceiveHook(path, { node: process.execPath, script })).toBe(false);
    const hook = join(path, 'hooks', 'pre-receive');
    expect(statSync(hook).mode & 0o100).toBe(0o100);
    expect(readFileSync(hook, 'utf8')).toBe(preReceiveHookScript({ node: process.execPath, script }));
    const { stderr } = await execa(hook, [], { cwd: path });
    expect(stderr).toBe('hook ran with 0 arguments');
    expect(await installPreReceiveHook(path, { node: process.execPath, script: `${script}.moved` })).toBe(true);
    expect(readFileSync(hook, 'utf8')).toContain('.moved');
  });
});
