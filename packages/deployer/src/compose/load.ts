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
  const compose = interpolateValue(parsed, env);
  return { path, compose: checkShape(compose, name) };
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
