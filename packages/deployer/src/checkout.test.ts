import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { checkoutCommit } from './checkout.js';

async function git(cwd: string, ...args: string[]): Promise<string> {
  return (
    await execa('git', args, {
      cwd,
      env: { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
    })
  ).stdout;
}

describe('checkoutCommit', () => {
  it('gives a clean work tree of the commit from a bare repository, with nothing left from before', async () => {
    const root = mkdtempSync(join(tmpdir(), 'swarmlet-checkout-'));
    const source = join(root, 'source');
    await execa('git', ['init', '--quiet', '-b', 'master', source]);
    writeFileSync(join(source, 'app.txt'), 'one\n');
    await git(source, 'add', '.');
    await git(source, 'commit', '--quiet', '-m', 'one');
    const first = await git(source, 'rev-parse', 'HEAD');
    writeFileSync(join(source, 'app.txt'), 'two\n');
    writeFileSync(join(source, 'new.txt'), 'new\n');
    await git(source, 'add', '.');
    await git(source, 'commit', '--quiet', '-m', 'two');
    const second = await git(source, 'rev-parse', 'HEAD');
    const bare = join(root, 'app.git');
    await execa('git', ['clone', '--quiet', '--bare', source, bare]);

    const tree = join(root, 'work', 'deploy');
    expect(await checkoutCommit({ repository: bare, commit: second, directory: tree })).toBe(second);
    expect(readFileSync(join(tree, 'app.txt'), 'utf8')).toBe('two\n');
    writeFileSync(join(tree, 'leftover.txt'), 'from an earlier deploy');

    expect(await checkoutCommit({ repository: bare, commit: first, directory: tree })).toBe(first);
    expect(readFileSync(join(tree, 'app.txt'), 'utf8')).toBe('one\n');
    expect(existsSync(join(tree, 'new.txt'))).toBe(false);
    expect(existsSync(join(tree, 'leftover.txt'))).toBe(false);
  });

  it('reads a commit that only exists in an extra object directory, as a pushed commit before it is accepted', async () => {
    const root = mkdtempSync(join(tmpdir(), 'swarmlet-checkout-'));
    const bare = join(root, 'app.git');
    await execa('git', ['init', '--quiet', '--bare', bare]);
    const other = join(root, 'other');
    await execa('git', ['init', '--quiet', other]);
    writeFileSync(join(other, 'pushed.txt'), 'pushed\n');
    await git(other, 'add', '.');
    await git(other, 'commit', '--quiet', '-m', 'pushed');
    const commit = await git(other, 'rev-parse', 'HEAD');

    const tree = join(root, 'tree');
    await expect(checkoutCommit({ repository: bare, commit, directory: tree })).rejects.toThrow(
      `commit ${commit} is not in ${bare}`,
    );
    await checkoutCommit({
      repository: bare,
      commit,
      directory: tree,
      objectDirectories: [join(other, '.git', 'objects')],
    });
    expect(readFileSync(join(tree, 'pushed.txt'), 'utf8')).toBe('pushed\n');
  });

  it('refuses anything but a full SHA before touching git', async () => {
    await expect(
      checkoutCommit({ repository: '/nonexistent', commit: '--upload-pack=evil', directory: '/tmp/x' }),
    ).rejects.toThrow('not a full commit SHA');
  });
});
