import { isAbsolute } from 'node:path';
import { ComposeError } from './compose-error.js';
import type { BuildDefinition, ComposeFile, ComposeService } from './resolve.js';
import type { Variables } from './interpolate.js';

const BUILD_KEYS = ['context', 'dockerfile', 'args', 'target', 'labels', 'cache_from', 'secrets'] as const;

const SERVICE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

type YamlMap = Record<string, unknown>;

/**
 * Checks that an interpolated compose file has the shape the deployer relies on and returns it normalized:
 * a top-level map whose `services` maps names (letters, digits, `_`, `.`, `-`) to maps; each service with an
 * `image:` (non-empty text) or a `build:`; `build:` a path, or a map of `context`, `dockerfile`, `args`,
 * `target`, `labels` and `cache_from` (any other key but an `x-…` extension is refused, never ignored),
 * returned as a map whose `args` and `labels` are maps of text and `cache_from` a list of text; `labels` and
 * `deploy.labels` maps of text (list form `KEY=value` accepted); `deploy` a map and `ports` a list. A build
 * argument without a value (`args: [VERSION]` or `VERSION:` with nothing) takes it from `env`, and is left out
 * when `env` lacks it, as in Docker Compose. Paths in `build:` must be relative and local (no URL). Returns new
 * objects. Pure.
 * @throws ComposeError naming `file` and the path of the first thing that does not fit.
 */
export function checkShape(value: unknown, env: Variables, file: string): ComposeFile {
  const fail = (path: string, message: string): never => {
    throw new ComposeError(`${file}: ${path} ${message}`, { file });
  };
  if (!isMap(value)) return fail('the top level', 'must be a map (services:, networks:, …)');
  const services = value.services;
  if (!isMap(services) || Object.keys(services).length === 0) {
    return fail('services', 'must map service names to their definitions');
  }
  const checked: Record<string, ComposeService> = {};
  for (const [name, service] of Object.entries(services)) {
    const path = `services.${name}`;
    if (!SERVICE_NAME.test(name)) fail(path, 'has an invalid name: use letters, digits, "_", "." and "-"');
    if (!isMap(service)) return fail(path, 'must be a map');
    checked[name] = checkService(service, path, env, fail);
  }
  return { ...value, services: checked };
}

function checkService(
  service: YamlMap,
  path: string,
  env: Variables,
  fail: (path: string, message: string) => never,
): ComposeService {
  const out: ComposeService = { ...service };
  if (service.image !== undefined && (typeof service.image !== 'string' || service.image.trim() === '')) {
    fail(`${path}.image`, 'must be an image name');
  }
  if (service.image === undefined && service.build === undefined) fail(path, 'needs an image or a build');
  if (service.build !== undefined) out.build = checkBuild(service.build, `${path}.build`, env, fail);
  if (service.labels !== undefined) out.labels = textMap(service.labels, `${path}.labels`, fail);
  if (service.ports !== undefined && !Array.isArray(service.ports)) fail(`${path}.ports`, 'must be a list');
  if (service.deploy !== undefined) {
    if (!isMap(service.deploy)) return fail(`${path}.deploy`, 'must be a map');
    out.deploy = { ...service.deploy };
    if (service.deploy.labels !== undefined) {
      out.deploy.labels = textMap(service.deploy.labels, `${path}.deploy.labels`, fail);
    }
    for (const key of ['update_config', 'rollback_config', 'restart_policy', 'placement', 'resources']) {
      const section = service.deploy[key];
      if (section !== undefined && !isMap(section)) fail(`${path}.deploy.${key}`, 'must be a map');
    }
  }
  return out;
}

function checkBuild(
  build: unknown,
  path: string,
  env: Variables,
  fail: (path: string, message: string) => never,
): BuildDefinition {
  if (typeof build === 'string') return { context: relativePath(build, path, fail) };
  if (!isMap(build)) return fail(path, 'must be a path or a map');
  const out: BuildDefinition = {};
  for (const [key, value] of Object.entries(build)) {
    const where = `${path}.${key}`;
    switch (key) {
      case 'context':
      case 'dockerfile':
        out[key] = relativePath(value, where, fail);
        break;
      case 'target':
        if (typeof value !== 'string' || value === '') return fail(where, 'must be the name of a build stage');
        out.target = value;
        break;
      case 'args':
        out.args = buildArgs(value, where, env, fail);
        break;
      case 'labels':
        out.labels = textMap(value, where, fail);
        break;
      case 'cache_from':
        if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item !== '')) {
          fail(where, 'must be a list of image names');
        }
        out.cache_from = (value as string[]).slice();
        break;
      case 'secrets':
        out.secrets = buildSecrets(value, where, fail);
        break;
      default:
        if (!key.startsWith('x-')) {
          fail(where, `is not supported: a build may set ${BUILD_KEYS.join(', ')}`);
        }
    }
  }
  return out;
}

function buildSecrets(
  value: unknown,
  path: string,
  fail: (path: string, message: string) => never,
): (string | { source: string; target?: string })[] {
  if (!Array.isArray(value)) return fail(path, 'must be a list of secret names or {source, target} maps');
  return value.map((entry: unknown, index) => {
    if (typeof entry === 'string' && entry !== '') return entry;
    if (isMap(entry) && typeof entry.source === 'string' && entry.source !== '') {
      if (entry.target !== undefined && (typeof entry.target !== 'string' || entry.target === '')) {
        return fail(`${path}[${index}].target`, 'must be a secret id');
      }
      return { source: entry.source, ...(typeof entry.target === 'string' && { target: entry.target }) };
    }
    return fail(`${path}[${index}]`, 'must be a secret name or a {source, target} map');
  });
}

function relativePath(value: unknown, path: string, fail: (path: string, message: string) => never): string {
  if (typeof value !== 'string' || value.trim() === '') return fail(path, 'must be a path');
  if (isAbsolute(value) || /^[a-z][a-z0-9+.-]*:\/\/|^git@/i.test(value)) {
    return fail(path, `must be a path inside the repository, not ${JSON.stringify(value)}`);
  }
  return value;
}

function buildArgs(
  value: unknown,
  path: string,
  env: Variables,
  fail: (path: string, message: string) => never,
): Record<string, string> {
  const entries: [string, unknown][] = [];
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      if (typeof item !== 'string' || item === '') return fail(`${path}[${index}]`, 'must be NAME=value or NAME');
      const equals = item.indexOf('=');
      entries.push(equals < 0 ? [item, null] : [item.slice(0, equals), item.slice(equals + 1)]);
    }
  } else if (isMap(value)) {
    entries.push(...Object.entries(value));
  } else {
    return fail(path, 'must be a map or a list of NAME=value');
  }
  const args: Record<string, string> = {};
  for (const [name, item] of entries) {
    if (item === null) {
      const fromEnv = env[name];
      if (fromEnv !== undefined) args[name] = fromEnv;
    } else {
      args[name] = scalarText(item, `${path}.${name}`, fail);
    }
  }
  return args;
}

function textMap(value: unknown, path: string, fail: (path: string, message: string) => never): Record<string, string> {
  if (Array.isArray(value)) {
    const map: Record<string, string> = {};
    for (const [index, item] of value.entries()) {
      if (typeof item !== 'string' || item === '') return fail(`${path}[${index}]`, 'must be KEY=value');
      const equals = item.indexOf('=');
      if (equals < 0) map[item] = '';
      else map[item.slice(0, equals)] = item.slice(equals + 1);
    }
    return map;
  }
  if (!isMap(value)) return fail(path, 'must be a map or a list of KEY=value');
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, scalarText(item, `${path}.${key}`, fail)]),
  );
}

function scalarText(value: unknown, path: string, fail: (path: string, message: string) => never): string {
  if (value === null) return '';
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  return fail(path, 'must be text, a number or a boolean');
}

function isMap(value: unknown): value is YamlMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
