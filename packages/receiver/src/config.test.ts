import { ConfigError } from '@swarmlet/common';
import { loadReceiverConfig } from './config.js';

describe('loadReceiverConfig', () => {
  it('has defaults under the data directory, resolved against cwd', () => {
    expect(loadReceiverConfig({ PATH: '/usr/bin' }, '/srv')).toEqual({
      dataDir: '/srv/.swarmlet',
      reposDir: '/srv/.swarmlet/repos',
      hostKeyDir: '/srv/.swarmlet/ssh',
      authorizedKeysPath: '/srv/.swarmlet/ssh/authorized_keys',
      host: undefined,
      port: 2222,
      portWaitMs: 0,
      stacksDir: undefined,
      agent: { url: 'http://127.0.0.1:8787' },
      logLevel: 'info',
      gitEnv: { PATH: '/usr/bin', HOME: '/srv/.swarmlet' },
    });
  });

  it('takes every setting from the environment', () => {
    const config = loadReceiverConfig(
      {
        SWARMLET_DATA_DIR: 'data',
        SWARMLET_SSH_HOST: '127.0.0.1',
        SWARMLET_SSH_PORT: '0',
        SWARMLET_SSH_PORT_WAIT_SECONDS: '900',
        SWARMLET_STACKS_DIR: 'stacks',
        SWARMLET_AUTHORIZED_KEYS: '/home/me/.ssh/authorized_keys',
        SWARMLET_AGENT_URL: 'https://agent.internal:8443/base',
        SWARMLET_AGENT_TOKEN_FILE: 'secrets/agent-token',
        SWARMLET_LOG_LEVEL: 'debug',
        PATH: '/bin',
        HOME: '/home/me',
      },
      '/srv',
    );
    expect(config).toMatchObject({
      dataDir: '/srv/data',
      host: '127.0.0.1',
      port: 0,
      portWaitMs: 900_000,
      stacksDir: '/srv/stacks',
      authorizedKeysPath: '/home/me/.ssh/authorized_keys',
      agent: { url: 'https://agent.internal:8443/base', tokenFile: '/srv/secrets/agent-token' },
      logLevel: 'debug',
      gitEnv: { PATH: '/bin', HOME: '/home/me' },
    });
  });

  it.each([
    ['SWARMLET_SSH_PORT', '70000'],
    ['SWARMLET_SSH_PORT', 'ssh'],
    ['SWARMLET_AGENT_URL', 'ftp://agent'],
    ['SWARMLET_AGENT_URL', 'not a url'],
    ['SWARMLET_LOG_LEVEL', 'loud'],
    ['SWARMLET_SSH_PORT_WAIT_SECONDS', '-1'],
  ])('names %s=%s', (name, value) => {
    expect(() => loadReceiverConfig({ [name]: value }, '/srv')).toThrow(ConfigError);
    expect(() => loadReceiverConfig({ [name]: value }, '/srv')).toThrow(`invalid setting ${name}`);
  });
});
