import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { VerbIo } from './run-verb.js';

/** A verb typed wrongly: answered with the usage and exit status 2, before the agent is asked anything. */
export class UsageError extends Error {}

/** A value the verb cannot take, or a failure to report: one line and exit status 1. */
export class ValueError extends Error {}

/** The `--json` flag most verbs take. */
export const JSON_FLAG = { json: { type: 'boolean' } } as const;

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses a verb's arguments with `options`: at least `min` positionals and, when given, at most `max`.
 * @throws UsageError with the verb's usage.
 */
export function positionals(
  args: readonly string[],
  options: Options,
  min: number,
  usage: string,
  max?: number,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split('\n')[0] ?? ''}; usage: ${usage}`);
  }
  if (parsed.positionals.length < min || (max !== undefined && parsed.positionals.length > max)) {
    throw new UsageError(`usage: ${usage}`);
  }
  return { values: parsed.values as Record<string, string | boolean | undefined>, positionals: parsed.positionals };
}

/** Writes `data` as indented JSON, or the lines `lines()` makes; exit status 0. */
export function print(io: VerbIo, json: boolean, data: unknown, lines: () => string[]): 0 {
  io.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${lines().join('\n')}\n`);
  return 0;
}

/** A path segment: the agent checks names itself, this only keeps the URL whole. */
export function segment(value: string | undefined): string {
  return encodeURIComponent(value ?? '');
}
