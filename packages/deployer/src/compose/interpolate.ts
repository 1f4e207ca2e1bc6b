/**
 * A `${…}` that cannot be resolved: a required variable that is unset (or empty, with `:?`), or a malformed
 * expression. `path` says where in the file (`services.web.image`), `variable` which variable.
 */
export class InterpolationError extends Error {
  constructor(
    readonly path: string,
    message: string,
    readonly variable?: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'InterpolationError';
  }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const EXPRESSION = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/;

/**
 * Interpolates one string as Docker Compose does: `$$` is a literal `$`; `$VAR` and `${VAR}` (empty when unset);
 * `${VAR:-default}` / `${VAR-default}` (default when unset or empty / unset); `${VAR:?message}` / `${VAR?message}`
 * (an error when unset or empty / unset); `${VAR:+other}` / `${VAR+other}` (other when set and non-empty / set);
 * defaults and messages are interpolated in turn, so `${A:-${B}}` works. With `keepStrayDollars`, a `$` that
 * starts no expression stays as it is (for `.env` values such as passwords) instead of being an error.
 * @throws InterpolationError naming `path` (and the variable) for a required variable or a malformed expression.
 */
export function interpolateString(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
  path: string,
  options: { keepStrayDollars?: boolean } = {},
): string {
  let out = '';
  let index = 0;
  while (index < text.length) {
    const dollar = text.indexOf('$', index);
    if (dollar < 0) return out + text.slice(index);
    out += text.slice(index, dollar);
    const next = text[dollar + 1];
    if (next === '$') {
      out += '$';
      index = dollar + 2;
    } else if (next === '{') {
      const end = closingBrace(text, dollar + 2);
      if (end < 0) throw new InterpolationError(path, `unterminated "\${" in ${JSON.stringify(text)}`);
      out += substitute(text.slice(dollar + 2, end), env, path);
      index = end + 1;
    } else {
      const name = NAME.exec(text.slice(dollar + 1))?.[0];
      if (name) {
        out += env[name] ?? '';
        index = dollar + 1 + name.length;
      } else if (options.keepStrayDollars) {
        out += '$';
        index = dollar + 1;
      } else {
        throw new InterpolationError(
          path,
          `invalid interpolation in ${JSON.stringify(text)}: write $$ for a literal $`,
        );
      }
    }
  }
  return out;
}

/**
 * Interpolates every string in a parsed YAML value (map values and list items, never keys), reporting errors with
 * the dotted path of the value. Returns a new value.
 */
export function interpolateValue(
  value: unknown,
  env: Readonly<Record<string, string | undefined>>,
  path = '',
): unknown {
  if (typeof value === 'string') return interpolateString(value, env, path || '(root)');
  if (Array.isArray(value)) return value.map((item, index) => interpolateValue(item, env, `${path}[${index}]`));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolateValue(item, env, path ? `${path}.${key}` : key)]),
    );
  }
  return value;
}

function substitute(expression: string, env: Readonly<Record<string, string | undefined>>, path: string): string {
  const match = EXPRESSION.exec(expression);
  if (!match) throw new InterpolationError(path, `invalid interpolation "\${${expression}}"`);
  const [, name = '', operator, argument = ''] = match;
  const value = env[name];
  const set = value !== undefined;
  const nonEmpty = set && value !== '';
  const resolve = (): string => interpolateString(argument, env, path);
  switch (operator) {
    case undefined:
      return value ?? '';
    case ':-':
      return nonEmpty ? value : resolve();
    case '-':
      return set ? value : resolve();
    case ':+':
      return nonEmpty ? resolve() : '';
    case '+':
      return set ? resolve() : '';
    default: {
      if (operator === ':?' ? nonEmpty : set) return value ?? '';
      const reason = resolve() || `required variable ${name} is ${set ? 'empty' : 'not set'}`;
      throw new InterpolationError(path, `${name}: ${reason}`, name);
    }
  }
}

function closingBrace(text: string, from: number): number {
  let depth = 1;
  for (let index = from; index < text.length; index++) {
    if (text[index] === '$' && text[index + 1] === '{') {
      depth++;
      index++;
    } else if (text[index] === '}' && --depth === 0) {
      return index;
    }
  }
  return -1;
}
