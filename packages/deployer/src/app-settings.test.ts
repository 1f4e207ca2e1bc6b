import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppSettingsError, AppSettingsStore, CORE_APPS, isTrusted, validateConfigKey } from './app-settings.js';

describe('AppSettingsStore', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'swarmlet-settings-')), 'apps');

  it('answers empty settings for an app that has none, and refuses a bad app name', async () => {
    const store = new AppSettingsStore(dir);
    expect(await store.get('fresh')).toEqual({ config: {}, scale: {} });
    await expect(store.get('../etc')).rejects.toThrow('invalid app name');
  });

  it('keeps any value exactly, in a 0600 file replaced whole, and loses no concurrent update', async () => {
    const store = new AppSettingsStore(dir);
    const value = 'a b "c" \'d\' = $HOME ${X} \\n\n-----BEGIN-----\r\nü🙂\n';
    await Promise.all([
      store.update('shop', (s) => ({ ...s, config: { ...s.config, CERT: value } })),
      store.update('shop', (s) => ({ ...s, config: { ...s.config, OTHER: '1' } })),
      store.update('shop', (s) => ({ ...s, scale: { web: 3 } })),
    ]);
    expect(await store.get('shop')).toEqual({ config: { CERT: value, OTHER: '1' }, scale: { web: 3 } });
    expect(statSync(join(dir, 'shop.json')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readdirSync(dir)).toEqual(['shop.json']);
    expect(JSON.parse(readFileSync(join(dir, 'shop.json'), 'utf8'))).toMatchObject({ config: { CERT: value } });
  });

  it('leaves the settings as they were when the change throws', async () => {
    const store = new AppSettingsStore(dir);
    await store.update('kept', (s) => ({ ...s, config: { A: '1' } }));
    await expect(
      store.update('kept', () => {
        throw new AppSettingsError('no');
      }),
    ).rejects.toThrow('no');
    expect(await store.get('kept')).toEqual({ config: { A: '1' }, scale: {} });
    await store.remove('kept');
    expect(await store.get('kept')).toEqual({ config: {}, scale: {} });
  });

  it('keeps trust and domains beside config and scale; core apps are trusted without a setting', async () => {
    const store = new AppSettingsStore(dir);
    await store.update('blog', (s) => ({
      ...s,
      trusted: true,
      domains: [{ host: 'blog.test', service: 'web', port: 80 }],
    }));
    await store.update('blog', (s) => ({ ...s, scale: { web: 2 } }));
    const settings = await store.get('blog');
    expect(settings).toEqual({
      config: {},
      scale: { web: 2 },
      trusted: true,
      domains: [{ host: 'blog.test', service: 'web', port: 80 }],
    });
    expect(isTrusted('blog', settings)).toBe(true);
    expect(isTrusted('blog', { config: {}, scale: {} })).toBe(false);
    for (const core of CORE_APPS) expect(isTrusted(core, { config: {}, scale: {} })).toBe(true);
  });

  it('validates config keys', () => {
    expect(validateConfigKey('DATABASE_URL')).toBe('DATABASE_URL');
    expect(validateConfigKey('_x1')).toBe('_x1');
    for (const key of ['1A', 'A-B', 'A B', '', 'A=B', 'ü'])
      expect(() => validateConfigKey(key)).toThrow(AppSettingsError);
  });
});
