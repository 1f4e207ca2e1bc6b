import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isContentName, withContentNames } from './file-objects.js';
import type { ComposeFile } from './resolve.js';

describe('withContentNames', () => {
  const project = mkdtempSync(join(tmpdir(), 'swarmlet-file-objects-'));
  mkdirSync(join(project, 'conf'));
  writeFileSync(join(project, 'token.txt'), 'one\n');
  writeFileSync(join(project, 'conf', 'app.ini'), '[app]\n');
  const compose = (): ComposeFile => ({
    services: { web: { image: 'x', secrets: ['token'], configs: ['ini'] } },
    secrets: {
      token: { file: './token.txt' },
      named: { file: './token.txt', name: 'kept-as-given' },
      outside: { external: true },
      missing: { file: './nowhere.txt' },
    },
    configs: { ini: { file: join(project, 'conf', 'app.ini') } },
  });

  it("names each object made from a file after the key and the file's bytes, leaving the rest as they are", async () => {
    const named = await withContentNames(compose(), project, 'shop');
    const secrets = named.secrets as Record<string, { name?: string }>;
    const token = secrets.token?.name ?? '';
    expect(token).toMatch(/^shop_token-[0-9a-f]{12}$/);
    expect(isContentName('shop', token)).toBe(true);
    expect((named.configs as Record<string, { name?: string }>).ini?.name).toMatch(/^shop_ini-[0-9a-f]{12}$/);
    expect(secrets.named).toEqual({ file: './token.txt', name: 'kept-as-given' });
    expect(secrets.outside).toEqual({ external: true });
    expect(secrets.missing).toEqual({ file: './nowhere.txt' });
    expect(named.services).toEqual(compose().services);
    expect((await withContentNames(compose(), project, 'shop')).secrets).toEqual(named.secrets);
    writeFileSync(join(project, 'token.txt'), 'two\n');
    const changed = (await withContentNames(compose(), project, 'shop')).secrets as Record<string, { name?: string }>;
    expect(changed.token?.name).not.toBe(token);
    expect(changed.token?.name).toMatch(/^shop_token-[0-9a-f]{12}$/);
  });

  it("keeps names within swarm's 64 characters, and apart for two keys with the same file", async () => {
    const long = 'k'.repeat(80);
    const named = await withContentNames(
      { services: {}, secrets: { [long]: { file: './token.txt' }, [`${long}x`]: { file: './token.txt' } } },
      project,
      'shop',
    );
    const names = Object.values(named.secrets as Record<string, { name: string }>).map((entry) => entry.name);
    expect(names.map((name) => name.length)).toEqual([64, 64]);
    expect(new Set(names).size).toBe(2);
  });

  it('tells its names from the names of other stacks and from names given by hand', () => {
    expect(isContentName('shop', 'shop_token-0123456789ab')).toBe(true);
    expect(isContentName('shop', 'shopping_token-0123456789ab')).toBe(false);
    expect(isContentName('shop', 'shop_token')).toBe(false);
    expect(isContentName('shop', 'other_token-0123456789ab')).toBe(false);
  });
});
