import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { overlayEnv, parseYaml, readYamlFile, validateConfig } from './config.js';
import { thrownConfigError as configError } from '../../../test/support/capture.js';

const schema = z.strictObject({
  http: z
    .strictObject({ addr: z.string().default(':5000'), port: z.coerce.number().int().min(1).max(65535).optional() })
    .default({ addr: ':5000' }),
  storage: z
    .strictObject({ delete: z.strictObject({ enabled: z.stringbool().or(z.boolean()).default(false) }).optional() })
    .optional(),
});
const known = ['http.addr', 'http.port', 'storage.delete.enabled'];

describe('parseYaml', () => {
  it('parses a document and treats an empty one as {}', () => {
    expect(parseYaml('http:\n  addr: ":5001"\n', 'c.yml')).toEqual({ http: { addr: ':5001' } });
    expect(parseYaml('', 'c.yml')).toEqual({});
  });

  it('names the file, line and column of a syntax error', () => {
    const error = configError(() => parseYaml('http:\n  addr: [unclosed\n', 'config.yml'));
    expect(error.setting).toBe('config.yml');
    expect(error.message).toMatch(/line 3, column 1/);
  });
});

describe('readYamlFile', () => {
  it('reads a file and names a missing one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlet-config-'));
    const path = join(dir, 'config.yml');
    writeFileSync(path, 'http:\n  addr: 127.0.0.1:5000\n');
    expect(readYamlFile(path)).toEqual({ http: { addr: '127.0.0.1:5000' } });
    const error = configError(() => readYamlFile(join(dir, 'missing.yml')));
    expect(error.setting).toBe(join(dir, 'missing.yml'));
    expect(error.message).toMatch(/ENOENT/);
  });
});

describe('validateConfig', () => {
  it('returns typed values with defaults applied', () => {
    expect(validateConfig(schema, {})).toEqual({ http: { addr: ':5000' } });
  });

  it('names an unknown setting by its full path', () => {
    const error = configError(() => validateConfig(schema, { http: { adr: ':1' } }));
    expect(error.setting).toBe('http.adr');
    expect(error.message).toBe('invalid setting http.adr: unknown setting');
  });

  it('names an invalid value, through the name mapping', () => {
    const error = configError(() => validateConfig(schema, { http: { port: '70000' } }, (path) => `<${path}>`));
    expect(error.setting).toBe('<http.port>');
  });
});

describe('overlayEnv', () => {
  it('sets nested settings from prefixed variables and records their source', () => {
    const { config, sources } = overlayEnv(
      { http: { addr: ':5000' } },
      { REGISTRY_HTTP_ADDR: '0.0.0.0:6000', REGISTRY_STORAGE_DELETE_ENABLED: 'true', HOME: '/root' },
      'REGISTRY',
      known,
    );
    expect(config).toEqual({ http: { addr: '0.0.0.0:6000' }, storage: { delete: { enabled: 'true' } } });
    expect(sources.get('http.addr')).toBe('REGISTRY_HTTP_ADDR');
    expect(validateConfig(schema, config).storage?.delete?.enabled).toBe(true);
  });

  it('does not modify its input', () => {
    const input = { http: { addr: ':5000' } };
    overlayEnv(input, { REGISTRY_HTTP_ADDR: ':1' }, 'REGISTRY', known);
    expect(input.http.addr).toBe(':5000');
  });

  it('refuses a prefixed variable that names no setting', () => {
    const error = configError(() => overlayEnv({}, { REGISTRY_HTTP_ADRESS: ':1' }, 'REGISTRY', known));
    expect(error.setting).toBe('REGISTRY_HTTP_ADRESS');
  });
});
