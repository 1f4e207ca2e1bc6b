import { parse } from 'dotenv';
import { interpolateString } from '../compose/interpolate.js';

/** A `.env` line that is not `NAME=value`, a comment or blank. */
export class DotenvError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    detail: string,
  ) {
    super(`${file} line ${line}: ${detail}`);
    this.name = 'DotenvError';
  }
}

const ENTRY = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/;

/**
 * Reads a project's `.env` as data, never as code: dotenv parses the values (quotes, `#` comments, multi-line
 * double-quoted values), then `${VAR}` / `$VAR` references (with Compose's defaults) are expanded against
 * `base` and the entries above, in file order; single-quoted values stay literal, and a `$` that starts no
 * reference stays as it is. Nothing is executed: `$(…)` and backticks are text. Returns only the file's entries.
 * @throws DotenvError naming the file and line of a line that is not `NAME=value`, a comment or blank, or of an
 * unterminated quote; InterpolationError for a required variable (`${X:?}`) that is missing.
 */
export function parseDotenv(
  text: string,
  base: Readonly<Record<string, string>>,
  file = '.env',
): Record<string, string> {
  const literal = checkLines(text, file);
  const values = parse(text);
  const known: Record<string, string> = { ...base };
  const entries: Record<string, string> = {};
  for (const [name, raw] of Object.entries(values)) {
    const value = literal.has(name)
      ? raw
      : interpolateString(raw, known, `${file}: ${name}`, { keepStrayDollars: true });
    entries[name] = value;
    known[name] = value;
  }
  return entries;
}

function checkLines(text: string, file: string): Set<string> {
  const literal = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] ?? '';
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const match = ENTRY.exec(line);
    if (!match) throw new DotenvError(file, index + 1, 'expected NAME=value');
    const [, name = '', value = ''] = match;
    const quote = value[0];
    if (quote !== '"' && quote !== "'" && quote !== '`') continue;
    if (quote === "'") literal.add(name);
    const closesHere = value.length > 1 && value.slice(1).replace(/\\./g, '').includes(quote);
    if (closesHere) continue;
    const start = index;
    while (++index < lines.length && !(lines[index] ?? '').replace(/\\./g, '').includes(quote));
    if (index >= lines.length) throw new DotenvError(file, start + 1, `unterminated ${quote} quote`);
  }
  return literal;
}
