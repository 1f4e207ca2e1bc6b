import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LOCK_DIR = join(tmpdir(), 'swarmlet-test-core-swarm.lock');

function holderIsAlive(): boolean {
  try {
    const pid = Number(readFileSync(join(LOCK_DIR, 'pid'), 'utf8'));
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Takes the machine-wide lock that test files hold while they use what the platform's core stacks share on one
 * swarm: the `swarmlet.registry` node label, the core stack names (`registry`, `router`, `deployer`) and their
 * published ports. Jest runs test files in parallel workers; files that take this lock run one after the other.
 * A lock left by a process that died is taken over. Resolves with the function that releases it.
 */
export async function lockCoreSwarm(timeoutMs = 30 * 60_000): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      writeFileSync(join(LOCK_DIR, 'pid'), String(process.pid));
      return () => {
        rmSync(LOCK_DIR, { recursive: true, force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (!holderIsAlive()) {
      // Give a holder that has just made the directory time to write its pid before declaring it dead.
      await new Promise((resolve) => setTimeout(resolve, 500));
      if (!holderIsAlive()) rmSync(LOCK_DIR, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`the core swarm lock ${LOCK_DIR} was not released in time`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
