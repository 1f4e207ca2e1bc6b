import { join } from 'node:path';
import { execa } from 'execa';
import { repoRoot } from '../support/docker.js';

const script = join(repoRoot, 'scripts', 'ensure-docker.sh');

/** The engine check behind `npm start` and `npm test`. */
describe('scripts/ensure-docker.sh', () => {
  it('passes silently when the engine answers and the swarm is active', async () => {
    const result = await execa('bash', [script]);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toBe('');
  });

  it('tells a user who cannot reach the engine the exact command to run, and fails', async () => {
    const result = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'bash', script], {
      reject: false,
      env: { USER: 'nobody' },
    });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^swarmlet: no Docker engine answers\. Start one, then run this again: sudo /);
    expect(result.stderr).toContain('sudo usermod -aG docker nobody');
  });
});
