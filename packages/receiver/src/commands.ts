import { AgentClient, isVerb, runVerb, VERB_USAGE, type VerbIo } from '@swarmlet/deployer';
import { KEYS_USAGE, runKeysCommand } from './keys-command.js';

/** What the commands need: the agent to ask, and the keys file that `keys` changes. */
export interface CommandContext {
  /** The agent's client; undefined when no agent is configured (every verb but `keys` and `help` then fails). */
  agent: AgentClient | undefined;
  authorizedKeysPath: string;
}

/** The lines `help` prints: the day-2 verbs, then the key commands. */
export function commandHelp(): string[] {
  return [...VERB_USAGE, ...KEYS_USAGE];
}

/**
 * Runs one command of the platform's command surface (`args` verb first): `help`, `keys add|list|remove` on the
 * keys file, and the day-2 verbs through the agent (see `runVerb`). The SSH door and the server's `swarmlet`
 * both run commands through here, so they answer alike. Resolves with the exit status: 0 done, 1 failed, 2 usage.
 */
export async function runCommand(args: readonly string[], context: CommandContext, io: VerbIo): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === 'help' || verb === '--help') {
    io.write(
      `commands:\n${commandHelp()
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
