import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { ComposeFile } from './resolve.js';

/** The top-level compose sections whose entries `docker stack deploy` turns into swarm objects. */
const SECTIONS = ['secrets', 'configs'] as const;

/** How long a swarm secret's or config's name may be. */
const MAX_NAME = 64;

/** The digits of the content hash a {@link withContentNames} name ends with. */
const HASH_DIGITS = 12;

/**
 * Whether `name` is one {@link withContentNames} gave to a secret or config of stack `app`: `APP_KEY-HASH`.
 */
export function isContentName(app: string, name: string): boolean {
  return name.startsWith(`${app}_`) && new RegExp(`-[0-9a-f]{${String(HASH_DIGITS)}}$`).test(name);
}

/**
 * The compose file with each top-level secret and config made from a `file:` (and naming no `name:` of its own)
 * named after its content: `APP_KEY-HASH`, the first 12 hex digits of the SHA-256 of the key and the file's bytes,
 * the `APP_KEY` part cut so the name fits swarm's 64 characters. Swarm never changes a secret or config once made,
 * so under the name `docker stack deploy` gives by default (`APP_KEY`) a changed file would fail the next deploy;
 * with the content in the name a changed file makes a new object, and an unchanged one keeps its own. Paths are
 * read as `docker stack deploy -c` reads them: relative to `projectDir`. An entry whose file cannot be read is left
 * as it is, for `docker stack deploy` to report. Returns a new file; the input is unchanged.
 */
export async function withContentNames(compose: ComposeFile, projectDir: string, app: string): Promise<ComposeFile> {
  const named: ComposeFile = { ...compose };
  for (const section of SECTIONS) {
    const entries = compose[section];
    if (typeof entries !== 'object' || entries === null) continue;
    const renamed: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(entries as Record<string, unknown>)) {
      renamed[key] = value;
      const definition = value as { file?: unknown; name?: unknown } | null;
      if (typeof definition?.file !== 'string' || definition.name !== undefined) continue;
      const path = isAbsolute(definition.file) ? definition.file : join(projectDir, definition.file);
      const content = await readFile(path).catch(() => undefined);
      if (content === undefined) continue;
      const hash = createHash('sha256').update(key).update('\0').update(content).digest('hex');
      const suffix = `-${hash.slice(0, HASH_DIGITS)}`;
      renamed[key] = { ...definition, name: `${app}_${key}`.slice(0, MAX_NAME - suffix.length) + suffix };
    }
    named[section] = renamed;
  }
  return named;
}
