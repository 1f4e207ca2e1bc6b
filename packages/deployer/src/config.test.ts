import { ConfigError } from '@swarmlet/common';
import { loadAgentConfig } from './config.js';

describe('loadAgentConfig', () => {
  it('defaults to loopback port 8787 and the local socket', () => {
    expect(loadAgentConfig({})).toEqual({
      listen: { host: '127.0.0.1', port: 8787 },
      dockerSocket: '/var/run/docker.sock',
      logLevel: 'info',
    });
  });

  it('reads the environment', () => {
    expect(loadAgentConfig({ SWARMLET_AGENT_ADDR: ':9000', SWARMLET_LOG_LEVEL: 'debug' })).toMatchObject({
      listen: { host: undefined, port: 9000 },
      logLevel: 'debug',
    });
  });

  it('names an invalid variable', () => {
    expect(() => loadAgentConfig({ SWARMLET_AGENT_ADDR: 'everywhere' })).toThrow(ConfigError);
    expect(() => loadAgentConfig({ SWARMLET_AGENT_ADDR: 'everywhere' })).toThrow(/SWARMLET_AGENT_ADDR/);
    expect(() => loadAgentConfig({ SWARMLET_LOG_LEVEL: 'loud' })).toThrow(/SWARMLET_LOG_LEVEL/);
  });
});
