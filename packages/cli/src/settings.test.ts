import { loadUpSettings } from './settings.js';

describe('loadUpSettings', () => {
  it('has the embedded defaults', () => {
    expect(loadUpSettings({ HOME: '/home/ann' }, '/srv/swarmlet')).toEqual({
      dataDir: '/srv/swarmlet/.swarmlet',
      registryPort: 5000,
      agentPort: 8787,
      sshPort: 2222,
      rootDomain: 'localhost',
      authorizedKeys: '/home/ann/.ssh/authorized_keys',
      router: 'local',
      httpPort: 8080,
      traefikImage: 'traefik:v3.3',
      traefikNetwork: 'traefik-public',
      path: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      username: 'admin',
      passwordFile: undefined,
    });
  });

  it('reads overrides and names an invalid one', () => {
    expect(loadUpSettings({ SWARMLET_DATA_DIR: '/data', SWARMLET_REGISTRY_PORT: '5001' }, '/x')).toMatchObject({
      dataDir: '/data',
      registryPort: 5001,
    });
    expect(() => loadUpSettings({ SWARMLET_SSH_PORT: '70000' }, '/x')).toThrow(/SWARMLET_SSH_PORT/);
    expect(() => loadUpSettings({ SWARMLET_ROUTER: 'traefik' }, '/x')).toThrow(/SWARMLET_ROUTER/);
    expect(loadUpSettings({ SWARMLET_USERNAME: 'ops', SWARMLET_PASSWORD_FILE: 'pw' }, '/x')).toMatchObject({
      username: 'ops',
      passwordFile: '/x/pw',
    });
    expect(() => loadUpSettings({ SWARMLET_USERNAME: 'a:b' }, '/x')).toThrow(/SWARMLET_USERNAME/);
  });
});
