import { parse } from 'dotenv';
import { interpolateString, InterpolationError, type Variables } from '../compose/interpolate.js';

/** A `.env` line that cannot be read, or a value whose `${…}` cannot be expanded; `line` counts from 1. */
export class DotenvError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`${file} line ${line}: ${detail}`, options);
    this.name = 'DotenvError';
  }
}

const ENTRY = /^\s*(?:export\s+)?([\w.-]+)(?:\s*=|:(?=\s))(.*)$/;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const QUOTES = new Set(['"', "'", '`']);

/**
 * Reads a project's `.env` as data, never as code, and returns its entries in file order (a name set twice keeps
 * the later value). Each entry is read by dotenv; what this accepts, line by line:
 * - blank lines and lines starting with `#`;
 * - `NAME=value`, optionally `export NAME=value`, spaces allowed around `=`, or `NAME: value` (dotenv's other
 *   form); NAME is letters, digits and `_`, not starting with a digit;
 * - an unquoted value ends at the line's end or at a ` #` comment and is trimmed; a `#` right after other text
 *   (`pa#ss`, `A=#x`) is refused, since dotenv would cut the value there while Docker Compose keeps it: quote it;
 * - a value in `"`, `'` or backticks may span lines and be followed by a `#` comment only; inside `"…"`, `\n`
 *   and `\r` are a newline and a carriage return and every other backslash stays as written (dotenv's rules).
 *
 * Unquoted and `"…"` values are then expanded as Compose interpolates (`$VAR`, `${VAR}`, `${VAR:-default}`,
 * `${VAR:?message}`, `$$` for a literal `$`, see `interpolate.ts`) against `base` and the entries above; values
 * in `'…'` or backticks stay literal. Nothing is ever executed: `$(…)` and backticks are text. Pure.
 * @throws DotenvError naming `file` and the line: a line of none of the forms above (`expected NAME=value`), an
 * invalid name, an unterminated quote or text after a closing quote, a `#` inside an unquoted value, a NUL
 * byte (no environment can carry one), a missing required variable or a malformed `${…}`.
 */
export function parseDotenv(text: string, base: Variables, file = '.env'): Record<string, string> {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const known: Record<string, string | undefined> = { ...base };
  const entries: Record<string, string> = {};
  for (let index = 0; index < lines.length; index++) {
    const lineNumber = index + 1;
    const line = lines[index] ?? '';
    if (/^\s*(?:#|$)/.test(line)) continue;
    const match = ENTRY.exec(line);
    if (!match) throw new DotenvError(file, lineNumber, 'expected NAME=value');
    const [, name = '', rest = ''] = match;
    if (!IDENTIFIER.test(name)) {
      throw new DotenvError(
        file,
        lineNumber,
        `${name} is not a variable name: use letters, digits and _, not a digit first`,
      );
    }
    const quote = rest.trimStart()[0] ?? '';
    let entry = line;
    if (QUOTES.has(quote)) {
      const last = closingLine(lines, index, quote, file);
      entry = lines.slice(index, last + 1).join('\n');
      index = last;
    } else if (/^#|\S#/.test(rest)) {
      throw new DotenvError(file, lineNumber, `${name}: quote a value that holds "#": unquoted, "#" starts a comment`);
    }
    const parsed = parse(entry);
    const raw = parsed[name];
    if (raw === undefined || Object.keys(parsed).length !== 1) {
      throw new DotenvError(file, lineNumber, 'expected NAME=value');
    }
    if (raw.includes('\0')) throw new DotenvError(file, lineNumber, `${name}: a value cannot hold a NUL byte`);
    const expanded = quote === "'" || quote === '`' ? raw : expand(raw, known, file, lineNumber, name);
    entries[name] = expanded;
    known[name] = expanded;
  }
  return entries;
}

/**
 * The index of the line where the value quoted by `quote` on line `start` closes, as dotenv reads it (a quote
 * after a backslash does not close it).
 * @throws DotenvError when it never closes, or the closing quote is followed by more than a comment.
 */
function closingLine(lines: readonly string[], start: number, quote: string, file: string): number {
  const opening = lines[start] ?? '';
  let text = opening.slice(opening.indexOf(quote) + 1);
  for (let index = start; index < lines.length; index++) {
    if (index > start) text = lines[index] ?? '';
    for (let at = 0; at < text.length; at++) {
      if (text[at] === '\\' && text[at + 1] === quote) at++;
      else if (text[at] === quote) {
        if (/^\s*(?:#.*)?$/.test(text.slice(at + 1))) return index;
        throw new DotenvError(file, index + 1, `unexpected text after the closing ${quote} quote`);
      }
    }
  }
  throw new DotenvError(file, start + 1, `the ${quote} quote opened here is never closed`);
}

function expand(raw: string, known: Variables, file: string, line: number, name: string): string {
  try {
    return interpolateString(raw, known, name);
  } catch (error) {
    if (!(error instanceof InterpolationError)) throw error;
    throw new DotenvError(file, line, `${name}: ${error.reason}`, { cause: error });
  }
}
