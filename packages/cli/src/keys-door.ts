import type { KeysDoor } from '@swarmlet/deployer';
import { runKeysCommand } from '@swarmlet/receiver';

/**
 * The agent's door to the SSH keys: the receiver's `keys` command on the `authorized_keys` file at `path` (and its
 * roles file beside it), its output lines collected. One change runs at a time.
 */
export function receiverKeysDoor(path: string): KeysDoor {
  let turn: Promise<unknown> = Promise.resolve();
  return {
    run(args, input) {
      const run = turn.then(async () => {
        const out: string[] = [];
        const err: string[] = [];
        const code = await runKeysCommand(path, args, {
          readInput: () => Promise.resolve(input),
          out: (line) => out.push(line),
          err: (line) => err.push(line),
        });
        return { code, out, err };
      });
      turn = run.catch(() => undefined);
      return run;
    },
  };
}
