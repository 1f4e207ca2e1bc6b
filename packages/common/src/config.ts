import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import type { z } from 'zod';

/** Environment variables as a config loader sees them: a plain map, never `process.env` itself. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * A setting that is missing, unknown or invalid. `setting` names it as the user wrote it (a YAML path such as
 * `http.addr`, or an environment variable such as `REGISTRY_HTTP_ADDR`); the message says what is wrong.
 */
export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    problem: string,
  ) {
    super(`invalid setting ${setting}: ${problem}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses YAML text into a plain value. An empty document is `{}`. Syntax errors become a {@link ConfigError}
 * naming `source` with the line and column.
 */
export function parseYaml(text: string, source: string): unknown {
  try {
    return yaml.load(text, { filename: source, schema: yaml.CORE_SCHEMA }) ?? {};
  } catch (error) {
    if (error instanceof yaml.YAMLException) {
      const line = error.mark.line + 1;
      const column = error.mark.column + 1;
      throw new ConfigError(source, `YAML error at line ${line}, column ${column}: ${error.reason}`);
    }
    throw error;
  }
}

/**
 * Reads and parses a YAML config file. A missing or unreadable file is a {@link ConfigError} naming the path.
 * This is the only file access a config loader makes; everything after it is a pure function.
 */
export function readYamlFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      path,
      `cannot read the config file (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
  return parseYaml(text, path);
}

/**
 * Validates `raw` against a zod schema and returns the typed result. The first problem found becomes a
 * {@link ConfigError} whose setting is the dotted path of the offending key, mapped through `nameOf` so a loader
 * can report the name the user wrote (for example the environment variable that supplied the value).
 */
export function validateConfig<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  nameOf: (path: string) => string = (path) => path,
): z.output<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw new ConfigError('(config)', 'invalid configuration');
  let path = issue.path.map(String).join('.');
  let problem = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    path = path ? `${path}.${key}` : key;
    problem = 'unknown setting';
  }
  throw new ConfigError(nameOf(path || '(root)'), problem);
}

/**
 * Overlays environment variables on a nested config object the way the CNCF registry does: with prefix
 * `REGISTRY`, `REGISTRY_HTTP_ADDR=…` sets `http.addr`. Keys are matched case-insensitively against the keys a
 * schema knows (`knownPaths`, lower-case dotted paths); a prefixed variable that names no known setting is a
 * {@link ConfigError}. Values stay strings; the schema coerces them. Returns a new object and the map from each
 * overridden path to the variable that set it.
 */
export function overlayEnv(
  config: unknown,
  env: Env,
  prefix: string,
  knownPaths: readonly string[],
): { config: Record<string, unknown>; sources: Map<string, string> } {
  const base = isPlainObject(config) ? structuredClone(config) : {};
  const sources = new Map<string, string>();
  const byVariable = new Map(knownPaths.map((path) => [`${prefix}_${path.replaceAll('.', '_')}`.toUpperCase(), path]));
  for (const [variable, value] of Object.entries(env)) {
    if (value === undefined || !variable.startsWith(`${prefix}_`)) continue;
    const path = byVariable.get(variable);
    if (!path) throw new ConfigError(variable, 'unknown setting');
    setPath(base, path.split('.'), value);
    sources.set(path, variable);
  }
  return { config: base, sources };
}

function setPath(target: Record<string, unknown>, keys: string[], value: unknown): void {
  let node = target;
  for (const [index, key] of keys.entries()) {
    if (index === keys.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (isPlainObject(next)) {
      node = next;
    } else {
      const created: Record<string, unknown> = {};
      node[key] = created;
      node = created;
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
