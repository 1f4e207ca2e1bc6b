import { readFile, stat } from 'node:fs/promises';
import yaml from 'js-yaml';
import { OutsideTreeError, resolveInTree } from '../tree-path.js';
import { ComposeError } from './compose-error.js';
import { interpolateValue, InterpolationError, type Variables } from './interpolate.js';
import type { ComposeFile } from './resolve.js';
import { checkShape } from './shape.js';
import { restoreTypes } from './typed-fields.js';

/** The compose file names looked for when `COMPOSE_FILE` is not set, in Docker Compose's order of preference. */
export const COMPOSE_FILE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'] as const;

/**
 * YAML 1.2's core schema plus merge keys (`<<: *defaults`), as Compose reads it: dates stay text and no
 * language-specific tags are accepted.
 */
const COMPOSE_SCHEMA = yaml.CORE_SCHEMA.extend({
  implicit: [new yaml.Type('tag:yaml.org,2002:merge', { kind: 'scalar', resolve: (data: unknown) => data === '<<' })],
});

/** The repository has none of {@link COMPOSE_FILE_NAMES} and `COMPOSE_FILE` is not set. */
export class NoComposeFileError extends ComposeError {
  constructor(message: string) {
    super(message);
    this.name = 'NoComposeFileError';
  }
}

/** A project's compose file, read and ready for the build and deploy steps. */
export interface LoadedCompose {
  /** The file as named in messages: its path relative to the work tree. */
  file: string;
  /** Its real, absolute path. */
  path: string;
  compose: ComposeFile;
}

/**
 * Finds, reads, interpolates and checks the project's compose file in the work tree `tree`. The file is
 * `COMPOSE_FILE` from `env` when set (one path relative to the tree, which must stay inside it, also through
 * symbolic links), else the first of {@link COMPOSE_FILE_NAMES} present. Values are interpolated with `env` as
 * Docker Compose does (see `interpolate.ts`), typed fields get their types back (`typed-fields.ts`), and the
 * shape is checked (`shape.ts`).
 * @throws NoComposeFileError when there is no compose file (listing the names looked for); ComposeError: `COMPOSE_FILE` naming several files, a
 * missing file or one outside the tree; invalid YAML (naming the file, line and column); a missing required
 * variable or a malformed `${…}` (naming the path in the file, the variable and the file); a wrong shape.
 */
export async function loadCompose(tree: string, env: Variables): Promise<LoadedCompose> {
  const { file, path } = await locate(tree, env);
  if (!(await stat(path)).isFile()) throw new ComposeError(`${file} is not a file`, { file });
  const text = await readFile(path, 'utf8');
  let parsed: unknown;
  try {
    parsed = yaml.load(text, { filename: file, schema: COMPOSE_SCHEMA });
  } catch (error) {
    if (!(error instanceof yaml.YAMLException)) throw error;
    const mark = error.mark as yaml.YAMLException['mark'] | undefined;
    const line = mark ? mark.line + 1 : secondDocumentLine(text);
    const where = mark ? ` at line ${line}, column ${mark.column + 1}` : line ? ` at line ${line}` : '';
    throw new ComposeError(`${file}: invalid YAML${where}: ${error.reason}`, { file, cause: error });
  }
  let interpolated: unknown;
  try {
    interpolated = interpolateValue(parsed, env);
  } catch (error) {
    if (!(error instanceof InterpolationError)) throw error;
    throw new ComposeError(`${error.message} (in ${file})`, { file, cause: error });
  }
  return { file, path, compose: checkShape(restoreTypes(interpolated, file), env, file) };
}

async function locate(tree: string, env: Variables): Promise<{ file: string; path: string }> {
  const chosen = env.COMPOSE_FILE;
  if (chosen) {
    const { COMPOSE_PATH_SEPARATOR: given = '' } = env;
    const separator = given === '' ? ':' : given;
    const files = chosen.split(separator).filter((part) => part !== '');
    if (files.length > 1) {
      throw new ComposeError(`COMPOSE_FILE names several files (${files.join(', ')}): a deploy uses one compose file`);
    }
    const path = await inTree(tree, chosen, `COMPOSE_FILE=${chosen} must name a file inside the repository`);
    if (path === undefined) throw new ComposeError(`COMPOSE_FILE names ${chosen}, which is not in the repository`);
    return { file: chosen, path };
  }
  for (const file of COMPOSE_FILE_NAMES) {
    const path = await inTree(tree, file, `${file} leads outside the repository`);
    if (path !== undefined) return { file, path };
  }
  throw new NoComposeFileError(`no compose file in the repository: looked for ${COMPOSE_FILE_NAMES.join(', ')}`);
}

async function inTree(tree: string, file: string, outside: string): Promise<string | undefined> {
  try {
    return await resolveInTree(tree, file);
  } catch (error) {
    if (error instanceof OutsideTreeError) throw new ComposeError(outside, { file, cause: error });
    throw error;
  }
}

/** The line (from 1) of the marker that starts a second YAML document, which js-yaml reports without a place. */
function secondDocumentLine(text: string): number | undefined {
  let content = false;
  const lines = text.split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    if (/^(?:---|\.\.\.)(?:\s|$)/.test(line)) {
      if (content) return index + 1;
    } else if (!/^\s*(?:#.*)?$/.test(line) && !line.startsWith('%')) {
      content = true;
    }
  }
  return undefined;
}
