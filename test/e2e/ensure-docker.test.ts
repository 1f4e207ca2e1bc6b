import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { repoRoot } from '../support/docker.js';

const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];

/**
 * A copy of `scripts/<name>` in a fresh directory that every user may read, so a run as `nobody` does not depend on
 * where the checkout lies (its parents may be closed to other users). The scripts read no file beside themselves.
 */
function readableCopy(name: string): { dir: string; script: string } {
  const dir = mkdtempSync(join(tmpdir(), 'swarmlet-ensure-'));
  chmodSync(dir, 0o755);
  const script = join(dir, name);
  copyFileSync(join(repoRoot, 'scripts', name), script);
  chmodSync(script, 0o644);
  return { dir, script };
}

/** Runs a copy of `scripts/<name>` as `nobody`, from the copy's directory. */
async function asNobody(name: string, args: readonly string[] = []) {
  const { dir, script } = readableCopy(name);
  try {
    return await execa('setpriv', [...NOBODY, 'bash', script, ...args], {
      reject: false,
      cwd: dir,
      env: { USER: 'nobody' },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The engine check behind `npm start` and `npm test`. */
describe('scripts/ensure-docker.sh', () => {
  it('passes silently when the engine answers and the swarm is active', async () => {
    const result = await execa('bash', [join(repoRoot, 'scripts', 'ensure-docker.sh')]);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toBe('');
  });

  it('tells a user who cannot reach the engine the exact command to run, and fails', async () => {
    const result = await asNobody('ensure-docker.sh');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^swarmlet: no Docker engine answers\. Start one, then run this again: sudo /);
    expect(result.stderr).toContain('sudo usermod -aG docker nobody');
  });
});

/** The Debian packages behind `npm test` and CI. */
describe('scripts/ensure-test-tools.sh', () => {
  const installed = (name: string): boolean => {
    try {
      return execFileSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' }).includes('ok installed');
    } catch {
      return false;
    }
  };

  it('passes silently, for any user, when every package the tests use is installed', async () => {
    const root = await execa('bash', [join(repoRoot, 'scripts', 'ensure-test-tools.sh')]);
    expect([root.exitCode, root.stderr]).toEqual([0, '']);
    const nobody = await asNobody('ensure-test-tools.sh');
    expect([nobody.exitCode, nobody.stderr]).toEqual([0, '']);
  });

  it('tells any other user the exact apt-get line for what is missing, and fails', async () => {
    const absent = ['hello', 'cowsay', 'sl', 'fortune-mod'].filter((name) => !installed(name)).slice(0, 2);
    expect(absent.length).toBeGreaterThan(0);
    const result = await asNobody('ensure-test-tools.sh', ['skopeo', ...absent]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(
      'swarmlet: the tests need Debian packages that are not installed. Install them, then run this again: ' +
        `sudo apt-get install -y --no-install-recommends ${absent.join(' ')}`,
    );
  });
});
