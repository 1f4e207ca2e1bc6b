import { captureJsonLines } from '../../../test/support/capture.js';
import { createLogger } from './logger.js';

describe('createLogger', () => {
  it('writes JSON lines carrying the component name', () => {
    const out = captureJsonLines();
    createLogger({ name: 'registry', destination: out.stream }).info({ repo: 'app' }, 'pushed');
    expect(out.lines()).toEqual([expect.objectContaining({ name: 'registry', msg: 'pushed', repo: 'app', level: 30 })]);
  });

  it('redacts passwords, tokens and authorization headers', () => {
    const out = captureJsonLines();
    const log = createLogger({ name: 'deployer', destination: out.stream });
    log.info({ password: 'hunter2', auth: { username: 'admin', password: 'hunter2' } }, 'login');
    log.info({ req: { headers: { authorization: 'Basic YWRtaW46aHVudGVyMg==', host: 'r' } } }, 'request');
    log.info({ registry: { token: 's3cret' } }, 'token');
    const text = JSON.stringify(out.lines());
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('YWRtaW46aHVudGVyMg');
    expect(text).not.toContain('s3cret');
    expect(text).toContain('"username":"admin"');
    expect(text).toContain('[redacted]');
  });

  it('respects the level', () => {
    const out = captureJsonLines();
    const log = createLogger({ name: 'x', level: 'warn', destination: out.stream });
    log.info('hidden');
    log.warn('shown');
    expect(out.lines().map((line) => line.msg)).toEqual(['shown']);
  });
});
