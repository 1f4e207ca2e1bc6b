import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function holderIsAlive(lockDir: string): boolean {
  try {
    const pid = Number(readFileSync(join(lockDir, 'pid'), 'utf8'));
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Takes the machine-wide lock `name` (a directory under the temp dir holding the holder's pid), waiting while a
 * live process holds it; a lock left by a process that died is taken over. Resolves with the function that
 * releases it. Rejects when it is not released within `timeoutMs`.
 */
async function lockMachineWide(name: string, timeoutMs: number): Promise<() => void> {
  const lockDir = join(tmpdir(), `${name}.lock`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, 'pid'), String(process.pid));
      return () => {
        rmSync(lockDir, { recursive: true, force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (!holderIsAlive(lockDir)) {
      // Give a holder that has just made the directory time to write its pid before declaring it dead.
      await new Promise((resolve) => setTimeout(resolve, 500));
      if (!holderIsAlive(lockDir)) rmSync(lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`the lock ${lockDir} was not released in time`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/**
 * Takes the machine-wide lock that test files hold while they use what the platform's core stacks share on one
 * swarm: the `swarmlet.registry` node label, the core stack names (`registry`, `router`, `deployer`) and their
 * published ports. Jest runs test files in parallel workers; files that take this lock run one after the other.
 * A lock left by a process that died is taken over. Resolves with the function that releases it.
 */
export function lockCoreSwarm(timeoutMs = 30 * 60_000): Promise<() => void> {
  return lockMachineWide('swarmlet-test-core-swarm', timeoutMs);
}

/**
 * Takes the machine-wide lock on the two-node test swarm's fixed names (its network namespaces, veth pair and
 * addresses): one test file at a time runs it. Same contract as {@link lockCoreSwarm}.
 */
export function lockTwoNodeSwarm(timeoutMs = 30 * 60_000): Promise<() => void> {
  return lockMachineWide('swarmlet-test-two-node-swarm', timeoutMs);
}
