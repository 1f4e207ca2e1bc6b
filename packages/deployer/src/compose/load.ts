import { readFile } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import yaml from 'js-yaml';
import { interpolateValue } from './interpolate.js';
import type { ComposeFile } from './resolve.js';

/** The compose file names looked for, in Docker Compose's order of preference. */
export const COMPOSE_FILE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'] as const;

/** A compose file that cannot be used: missing, not YAML, or not the shape a stack needs. */
export class ComposeError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'ComposeError';
  }
}

/**
 * Finds, reads and interpolates the project's compose file: `COMPOSE_FILE` from `env` when set (relative to the
 * tree, and it must stay inside it), else the first of {@link COMPOSE_FILE_NAMES} that exists. Checks the shape
 * a stack needs: a top-level map whose `services` maps names to maps, and `build:` a string or a map.
 * @throws ComposeError naming the file (and the line for invalid YAML); InterpolationError naming the variable
 * and the path for a missing required variable.
 */
export async function loadCompose(
  tree: string,
  env: Readonly<Record<string, string>>,
): Promise<{ path: string; compose: ComposeFile }> {
  const { path, text } = await findComposeFile(tree, env.COMPOSE_FILE);
  const name = relative(tree, path);
  let parsed: unknown;
  try {
    parsed = yaml.load(text, { filename: name });
  } catch (error) {
    if (error instanceof yaml.YAMLException) {
      throw new ComposeError(
        name,
        `invalid YAML at line ${error.mark.line + 1}, column ${error.mark.column + 1}: ${error.reason}`,
      );
    }
    throw error;
  }
  const compose = checkShape(interpolateValue(parsed, env), name);
  for (const service of Object.values(compose.services)) castKnownFields(service);
  return { path, compose };
}

const INTEGER_FIELDS = [
  ['deploy', 'replicas'],
  ['deploy', 'update_config', 'parallelism'],
  ['deploy', 'rollback_config', 'parallelism'],
  ['deploy', 'restart_policy', 'max_attempts'],
  ['healthcheck', 'retries'],
] as const;
const BOOLEAN_FIELDS = ['init', 'privileged', 'read_only', 'stdin_open', 'tty'] as const;

/**
 * Interpolation yields strings; as Docker Compose does, the fields that must be numbers or booleans get their
 * type back when the text is one (`published: \${PORT}`), since `docker stack deploy` reads the file as typed.
 */
function castKnownFields(service: Record<string, unknown>): void {
  if (Array.isArray(service.ports)) {
    for (const port of service.ports) {
      if (!isMap(port)) continue;
      for (const key of ['published', 'target'] as const) port[key] = asInteger(port[key]);
    }
  }
  for (const path of INTEGER_FIELDS) {
    const parent = path.slice(0, -1).reduce<unknown>((node, key) => (isMap(node) ? node[key] : undefined), service);
    const key = path[path.length - 1];
    if (isMap(parent) && key !== undefined && key in parent) parent[key] = asInteger(parent[key]);
  }
  for (const key of BOOLEAN_FIELDS) {
    if (service[key] === 'true' || service[key] === 'false') service[key] = service[key] === 'true';
  }
}

function asInteger(value: unknown): unknown {
  return typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
}

async function findComposeFile(tree: string, chosen: string | undefined): Promise<{ path: string; text: string }> {
  const candidates = chosen ? [chosen] : [...COMPOSE_FILE_NAMES];
  for (const candidate of candidates) {
    const path = join(tree, candidate);
    const inside = relative(tree, path);
    if (isAbsolute(candidate) || inside.startsWith('..')) {
      throw new ComposeError(candidate, 'COMPOSE_FILE must name a file inside the repository');
    }
    try {
      return { path, text: await readFile(path, 'utf8') };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  throw new ComposeError(chosen ?? '.', `no compose file: looked for ${candidates.join(', ')}`);
}

function checkShape(value: unknown, file: string): ComposeFile {
  if (!isMap(value)) throw new ComposeError(file, 'the top level must be a map');
  const services = value.services;
  if (!isMap(services) || Object.keys(services).length === 0)
    throw new ComposeError(file, 'services must map service names to definitions');
  for (const [name, service] of Object.entries(services)) {
    if (!isMap(service)) throw new ComposeError(file, `services.${name} must be a map`);
    const build = service.build;
    if (build !== undefined && typeof build !== 'string' && !isMap(build)) {
      throw new ComposeError(file, `services.${name}.build must be a path or a map`);
    }
    if (service.image !== undefined && typeof service.image !== 'string') {
      throw new ComposeError(file, `services.${name}.image must be a string`);
    }
    if (service.image === undefined && build === undefined) {
      throw new ComposeError(file, `services.${name} needs an image or a build`);
    }
  }
  return value as ComposeFile;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
