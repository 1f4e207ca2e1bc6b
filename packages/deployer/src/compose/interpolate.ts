/** The variables an interpolation reads; a name that is absent (or `undefined`) is unset. */
export type Variables = Readonly<Record<string, string | undefined>>;

/**
 * A `${…}` that cannot be resolved. `path` says where the text sits (`services.web.image`); `variable` names the
 * required variable that is missing (undefined for a malformed expression); `reason` is the message without the
 * path.
 */
export class InterpolationError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
    readonly variable?: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'InterpolationError';
  }
}

const NAME = /[_a-z][_a-z0-9]*/iy;
const BRACED = /\$\{[_a-z][_a-z0-9]*(?::?[-+?].*)?\}/iy;
const EXPRESSION = /^([_a-z][_a-z0-9]*)(?:(:?[-+?])([\s\S]*))?$/i;

/**
 * Interpolates one string as Docker Compose does: `$$` is a literal `$`; `$VAR` and `${VAR}` are the value, or
 * empty when unset; `${VAR:-default}` / `${VAR-default}` give the default when VAR is unset or empty / unset;
 * `${VAR:+other}` / `${VAR+other}` give `other` when VAR is set and non-empty / set, else empty;
 * `${VAR:?message}` / `${VAR?message}` fail when VAR is unset or empty / unset. A default, replacement or message
 * is itself interpolated, and only when it is used, so `${A:-${B}}` works. A `$` that starts none of these
 * (`$5`, a trailing `$`) stays as it is. Names are letters, digits and `_`, not starting with a digit. Pure.
 * @throws InterpolationError naming `path`: for a missing required variable (with `variable` set) or a `${`
 * that does not form one of the expressions above on its line (unterminated, empty, or an unknown operator).
 */
export function interpolateString(text: string, env: Variables, path: string): string {
  let out = '';
  let index = 0;
  for (;;) {
    const dollar = text.indexOf('$', index);
    if (dollar < 0) return out + text.slice(index);
    out += text.slice(index, dollar);
    const next = text[dollar + 1];
    if (next === '$') {
      out += '$';
      index = dollar + 2;
    } else if (next === '{') {
      const expression = bracedExpression(text, dollar, path);
      out += substitute(expression.slice(2, -1), env, path);
      index = dollar + expression.length;
    } else {
      NAME.lastIndex = dollar + 1;
      const name = NAME.exec(text)?.[0];
      if (name === undefined) {
        out += '$';
        index = dollar + 1;
      } else {
        out += env[name] ?? '';
        index = dollar + 1 + name.length;
      }
    }
  }
}

/**
 * Interpolates every string in a parsed YAML value (map values and list items at any depth, never map keys),
 * naming each by its path: `services.web.environment[1]`, with `prefix` before the first key. Other scalars
 * are kept. Returns a new value; the input is not changed. Pure.
 * @throws InterpolationError from {@link interpolateString}, naming the value's path.
 */
export function interpolateValue(value: unknown, env: Variables, prefix = ''): unknown {
  if (typeof value === 'string') return interpolateString(value, env, prefix || '(top level)');
  if (Array.isArray(value)) return value.map((item, index) => interpolateValue(item, env, `${prefix}[${index}]`));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolateValue(item, env, prefix ? `${prefix}.${key}` : key)]),
    );
  }
  return value;
}

/**
 * The `${…}` starting at `start`, as Compose delimits it: the regular expression reaches the last `}` of the
 * line when an operator follows the name, and the expression ends at the first `}` that closes the opening
 * brace (every `{` opens one, and the character after a `{` is not looked at), or at that last `}` when none
 * closes it.
 */
function bracedExpression(text: string, start: number, path: string): string {
  BRACED.lastIndex = start;
  const match = BRACED.exec(text)?.[0];
  if (match === undefined) {
    const line = text.slice(start).split('\n', 1)[0] ?? '';
    const detail = line.includes('}') ? '' : ': "${" is not closed by "}" on its line';
    throw new InterpolationError(path, `invalid interpolation format in ${JSON.stringify(text)}${detail}`);
  }
  let open = 0;
  for (let index = 0; index < match.length; index++) {
    if (match[index] === '}' && --open === 0) return match.slice(0, index + 1);
    if (match[index] === '{') {
      open++;
      index++;
    }
  }
  return match;
}

function substitute(expression: string, env: Variables, path: string): string {
  const [, name = '', operator, argument = ''] = EXPRESSION.exec(expression) ?? [];
  const value = env[name];
  const set = value !== undefined;
  const nonEmpty = set && value !== '';
  const nested = (): string => interpolateString(argument, env, path);
  switch (operator) {
    case ':-':
      return nonEmpty ? value : nested();
    case '-':
      return set ? value : nested();
    case ':+':
      return nonEmpty ? nested() : (value ?? '');
    case '+':
      return set ? nested() : '';
    case ':?':
    case '?': {
      if (operator === ':?' ? nonEmpty : set) return value ?? '';
      const message = nested();
      const reason = message ? `${name}: ${message}` : `required variable ${name} is ${set ? 'empty' : 'not set'}`;
      throw new InterpolationError(path, reason, name);
    }
    default:
      return value ?? '';
  }
}
