import { loadRegistryConfig } from './config.js';
import { thrownConfigError as configError } from '../../../test/support/capture.js';

describe('loadRegistryConfig', () => {
  it('has the CNCF registry defaults', () => {
    const config = loadRegistryConfig({}, {});
    expect(config.http.addr).toEqual({ host: undefined, port: 5000 });
    expect(config.storage.filesystem.rootdirectory).toBe('/var/lib/registry');
    expect(config.storage.delete.enabled).toBe(false);
    expect(config.auth).toBeUndefined();
  });

  it('accepts the config.yml that registry:2 ships', () => {
    const shipped = {
      version: 0.1,
      log: { fields: { service: 'registry' } },
      storage: { cache: { blobdescriptor: 'inmemory' }, filesystem: { rootdirectory: '/var/lib/registry' } },
      http: { addr: ':5000', headers: { 'X-Content-Type-Options': ['nosniff'] } },
      health: { storagedriver: { enabled: true, interval: '10s', threshold: 3 } },
    };
    expect(loadRegistryConfig(shipped, {}).http.headers).toEqual({ 'X-Content-Type-Options': ['nosniff'] });
  });

  it('lets REGISTRY_* variables override the file', () => {
    const config = loadRegistryConfig(
      { http: { addr: ':5000' }, storage: { filesystem: { rootdirectory: '/data' } } },
      {
        REGISTRY_HTTP_ADDR: '127.0.0.1:6000',
        REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/srv/registry',
        REGISTRY_STORAGE_DELETE_ENABLED: 'true',
        REGISTRY_AUTH: 'htpasswd',
        REGISTRY_AUTH_HTPASSWD_REALM: 'Swarmlet',
        REGISTRY_AUTH_HTPASSWD_PATH: '/run/secrets/htpasswd',
        REGISTRY_HTTP_TLS_CERTIFICATE: '/certs/tls.crt',
        REGISTRY_HTTP_TLS_KEY: '/certs/tls.key',
      },
    );
    expect(config.http.addr).toEqual({ host: '127.0.0.1', port: 6000 });
    expect(config.storage.filesystem.rootdirectory).toBe('/srv/registry');
    expect(config.storage.delete.enabled).toBe(true);
    expect(config.auth).toEqual({
      htpasswd: {
        realm: 'Swarmlet',
        path: '/run/secrets/htpasswd',
        throttle: { burst: 10, addressburst: 100, refill: 3000 },
      },
    });
    expect(config.http.tls).toEqual({ certificate: '/certs/tls.crt', key: '/certs/tls.key' });
  });

  it('reads the login throttle and the bcrypt concurrency from the file and REGISTRY_AUTH_HTPASSWD_*', () => {
    const config = loadRegistryConfig(
      { auth: { htpasswd: { path: '/h', throttle: { burst: 3, refill: '1m' } } } },
      {
        REGISTRY_AUTH_HTPASSWD_MAXCONCURRENTCHECKS: '2',
        REGISTRY_AUTH_HTPASSWD_THROTTLE_ADDRESSBURST: '20',
      },
    );
    expect(config.auth?.htpasswd).toMatchObject({
      maxconcurrentchecks: 2,
      throttle: { burst: 3, addressburst: 20, refill: 60_000 },
    });
    const zero = configError(() =>
      loadRegistryConfig(
        {},
        { REGISTRY_AUTH: 'htpasswd', REGISTRY_AUTH_HTPASSWD_PATH: '/h', REGISTRY_AUTH_HTPASSWD_THROTTLE_BURST: '0' },
      ),
    );
    expect(zero.setting).toBe('REGISTRY_AUTH_HTPASSWD_THROTTLE_BURST');
  });

  it('names an unknown setting in the file', () => {
    expect(configError(() => loadRegistryConfig({ storage: { s3: { bucket: 'b' } } }, {})).setting).toBe('storage.s3');
  });

  it('names the variable that carried an invalid value', () => {
    const error = configError(() => loadRegistryConfig({}, { REGISTRY_HTTP_ADDR: 'localhost' }));
    expect(error.setting).toBe('REGISTRY_HTTP_ADDR');
    expect(error.message).toMatch(/host:port/);
    expect(configError(() => loadRegistryConfig({}, { REGISTRY_STORAGE_DELETE_ENABLED: 'maybe' })).setting).toBe(
      'REGISTRY_STORAGE_DELETE_ENABLED',
    );
  });

  it('refuses unknown REGISTRY_* variables and auth types', () => {
    expect(configError(() => loadRegistryConfig({}, { REGISTRY_HTTP_ADRR: ':1' })).setting).toBe('REGISTRY_HTTP_ADRR');
    expect(configError(() => loadRegistryConfig({}, { REGISTRY_AUTH: 'token' })).setting).toBe('REGISTRY_AUTH');
  });

  it('requires a path for htpasswd auth', () => {
    expect(configError(() => loadRegistryConfig({}, { REGISTRY_AUTH: 'htpasswd' })).setting).toBe('auth.htpasswd.path');
  });
});
