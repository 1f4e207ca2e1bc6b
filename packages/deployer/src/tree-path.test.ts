import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isWithin, OutsideTreeError, resolveInTree } from './tree-path.js';

function tree(): { root: string; outside: string } {
  const base = realpathSync(mkdtempSync(join(tmpdir(), 'swarmlet-tree-')));
  const root = join(base, 'tree');
  const outside = join(base, 'outside');
  mkdirSync(join(root, 'sub', '..dots'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(root, 'file.txt'), '');
  writeFileSync(join(root, 'sub', 'inner.txt'), '');
  writeFileSync(join(outside, 'secret.txt'), '');
  symlinkSync('sub/inner.txt', join(root, 'inside-link'));
  symlinkSync(join(outside, 'secret.txt'), join(root, 'outside-link'));
  symlinkSync(outside, join(root, 'outside-dir'));
  symlinkSync('missing.txt', join(root, 'dangling'));
  symlinkSync(join(outside, 'missing.txt'), join(root, 'dangling-outside'));
  return { root, outside };
}

describe('resolveInTree', () => {
  it('resolves paths inside the tree to their real location, following links that stay inside', async () => {
    const { root } = tree();
    expect(await resolveInTree(root, 'file.txt')).toBe(join(root, 'file.txt'));
    expect(await resolveInTree(root, './sub/inner.txt')).toBe(join(root, 'sub', 'inner.txt'));
    expect(await resolveInTree(root, 'sub/../file.txt')).toBe(join(root, 'file.txt'));
    expect(await resolveInTree(root, 'sub/..dots')).toBe(join(root, 'sub', '..dots'));
    expect(await resolveInTree(root, '.')).toBe(root);
    expect(await resolveInTree(root, 'inside-link')).toBe(join(root, 'sub', 'inner.txt'));
  });

  it('works when the tree itself is reached through a link', async () => {
    const { root } = tree();
    const alias = `${root}-alias`;
    symlinkSync(root, alias);
    expect(await resolveInTree(alias, 'sub/inner.txt')).toBe(join(root, 'sub', 'inner.txt'));
  });

  it('resolves with undefined when nothing is there, a dangling link included', async () => {
    const { root } = tree();
    expect(await resolveInTree(root, 'missing.txt')).toBeUndefined();
    expect(await resolveInTree(root, 'file.txt/below')).toBeUndefined();
    expect(await resolveInTree(root, 'dangling')).toBeUndefined();
    expect(await resolveInTree(root, 'dangling-outside')).toBeUndefined();
  });

  it.each(['', '/etc/passwd', '..', '../outside/secret.txt', 'sub/../../outside', 'a\0b'])(
    'refuses %j before looking at the disk',
    async (path) => {
      const { root } = tree();
      await expect(resolveInTree(root, path)).rejects.toThrow(new OutsideTreeError(path));
    },
  );

  it('refuses links that lead outside the tree', async () => {
    const { root } = tree();
    for (const path of ['outside-link', 'outside-dir', 'outside-dir/secret.txt']) {
      await expect(resolveInTree(root, path)).rejects.toThrow(`"${path}" leads outside the repository`);
    }
  });
});

describe('isWithin', () => {
  it('is true for the root and what lies below it, false for anything else', () => {
    expect(isWithin('/work/tree', '/work/tree')).toBe(true);
    expect(isWithin('/work/tree', '/work/tree/a/b')).toBe(true);
    expect(isWithin('/work/tree', '/work/tree/..hidden')).toBe(true);
    expect(isWithin('/work/tree', '/work/tree-other')).toBe(false);
    expect(isWithin('/work/tree', '/work')).toBe(false);
    expect(isWithin('/work/tree', '/etc')).toBe(false);
  });
});
