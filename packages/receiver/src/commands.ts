import { AgentClient, isVerb, runVerb, VERB_USAGE, type VerbIo } from '@swarmlet/deployer';
import { commandRefusal, commandScope } from './access.js';
import { ADMIN, type KeyRole } from './key-role.js';
import { KEYS_USAGE, runKeysCommand } from './keys-command.js';

/** What the commands need: who asks, the agent to ask, and the keys file that `keys` changes. */
export interface CommandContext {
  /** The role of the key that asks; the server's own `swarmlet` is an admin. */
  role: KeyRole;
  /**
   * The agent's client; undefined when no agent is configured (every verb but `keys` and `help` then fails). For a
   * deployer, one that reaches its apps only (see `agentClientFor`).
   */
  agent: AgentClient | undefined;
  authorizedKeysPath: string;
}

/** The lines `help` prints for a key of `role`: the day-2 verbs, then the key commands; for a deployer, only those it may run. */
export function commandHelp(role: KeyRole = ADMIN): string[] {
  return [...VERB_USAGE, ...KEYS_USAGE].filter(
    (line) => role.role === 'admin' || commandScope(usageWords(line)).kind !== 'admin',
  );
}

/**
 * Runs one command of the platform's command surface (`args` verb first): `help`, `keys add|list|remove|role` on
 * the keys file, and the day-2 verbs through the agent (see `runVerb`). The SSH door and the server's `swarmlet`
 * both run commands through here, so they answer alike. A command the key's role does not allow (see
 * `commandRefusal`) answers one line naming the role and 1, and nothing reaches the agent. Resolves with the exit
 * status: 0 done, 1 failed or refused, 2 usage.
 */
export async function runCommand(args: readonly string[], context: CommandContext, io: VerbIo): Promise<number> {
  const [verb, ...rest] = args;
  const refusal = commandRefusal(context.role, args);
  if (refusal !== undefined) {
    io.error(refusal);
    return 1;
  }
  if (verb === 'help' || verb === '--help') {
    io.write(
      `commands:\n${commandHelp(context.role)
        .map((line) => `  ${line}`)
        .join('\n')}\n`,
    );
    return 0;
  }
  if (verb === 'keys') {
    const code = await runKeysCommand(context.authorizedKeysPath, rest, {
      readInput: () => io.readInput(),
      out: (line) => {
        io.write(`${line}\n`);
      },
      err: (line) => {
        io.error(line);
      },
    });
    if (code !== undefined) return code;
    io.error(`usage: ${KEYS_USAGE.map((line) => line.split('  ')[0]?.trim() ?? line).join(' | ')}`);
    return 2;
  }
  if (isVerb(verb) && !context.agent) {
    io.error('no deployer agent is configured here (SWARMLET_AGENT_URL)');
    return 1;
  }
  if (context.agent) return runVerb(args, context.agent, io);
  io.error(`unknown command ${JSON.stringify((verb ?? '').slice(0, 40))}: \`help\` lists the commands`);
  return 2;
}

/** The words of a usage line before its explanation, optional parts (`[--json]`) left out. */
function usageWords(line: string): string[] {
  return (line.split(/ {2,}/)[0] ?? '').split(' ').filter((word) => !word.startsWith('['));
}
