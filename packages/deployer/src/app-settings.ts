import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { replaceFile } from '@swarmlet/common';
import { isAppName, validateAppName } from './app-name.js';
import type { DomainRoute } from './compose/domains.js';

/** The platform's own apps: they are apps for every verb but `destroy`, and always trusted. */
export const CORE_APPS: readonly string[] = ['registry', 'router', 'deployer'];

/** What the platform keeps for an app besides its repository and history: set by the day-2 verbs, never in git. */
export interface AppSettings {
  /** `config set`: variables for the deploy environment and the built services, by name. */
  config: Record<string, string>;
  /** `scale`: replicas per service that later deploys use instead of the compose file's. */
  scale: Record<string, number>;
  /** `apps trust`: the compose policy for untrusted apps no longer applies to its deploys. */
  trusted?: boolean;
  /** `domains add`: hosts routed to the app's services besides those its compose file routes, in order added. */
  domains?: DomainRoute[];
}

/** Whether the compose policy is lifted for `app`: a core app, or one an admin trusted. */
export function isTrusted(app: string, settings: AppSettings): boolean {
  return CORE_APPS.includes(app) || settings.trusted === true;
}

/** A config key, as `config set` takes it. */
export const CONFIG_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A setting an app cannot have: a malformed key, a replica count out of range. */
export class AppSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AppSettingsError';
  }
}

/**
 * Checks a config key against {@link CONFIG_KEY}.
 * @throws AppSettingsError naming the key (cut to 80 characters).
 */
export function validateConfigKey(key: string): string {
  if (!CONFIG_KEY.test(key)) {
    throw new AppSettingsError(
      `invalid config key ${JSON.stringify(key.slice(0, 80))}: use letters, digits and '_', not starting with a digit`,
    );
  }
  return key;
}

/**
 * The apps' settings on disk, one JSON file per app, `<dir>/<app>.json`, mode 0600 in a 0700 directory, replaced
 * whole and atomically (a reader sees the old or the new settings, never a mix). Config values are secrets: they
 * are read from here for a deploy and by `config get`/`show --reveal`, and nothing else prints them. Updates of one
 * app are serialised in this process, so two verbs never lose each other's change.
 */
export class AppSettingsStore {
  private readonly pending = new Map<string, Promise<unknown>>();

  constructor(private readonly dir: string) {}

  /**
   * The app's settings; empty ones when it has none.
   * @throws Error for an invalid app name or a settings file that is not ours to read.
   */
  async get(app: string): Promise<AppSettings> {
    let text: string;
    try {
      text = await readFile(this.path(app), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { config: {}, scale: {} };
      throw error;
    }
    const parsed = JSON.parse(text) as Partial<AppSettings>;
    return {
      config: { ...parsed.config },
      scale: { ...parsed.scale },
      ...(parsed.trusted === true && { trusted: true }),
      ...(parsed.domains && parsed.domains.length > 0 && { domains: parsed.domains.map((route) => ({ ...route })) }),
    };
  }

  /**
   * Applies `change` to the app's settings and writes the result, after any update of the same app still running.
   * `change` may throw to leave everything as it was. Resolves with the settings as written.
   */
  update(app: string, change: (settings: AppSettings) => AppSettings): Promise<AppSettings> {
    const path = this.path(app);
    const previous = this.pending.get(app) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        const updated = change(await this.get(app));
        await replaceFile(path, `${JSON.stringify(updated, null, 2)}\n`, 0o600);
        return updated;
      });
    this.pending.set(app, next);
    void next
      .catch(() => undefined)
      .finally(() => {
        if (this.pending.get(app) === next) this.pending.delete(app);
      });
    return next;
  }

  /** The apps that have settings, sorted. */
  async apps(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names
      .filter((name) => name.endsWith('.json'))
      .map((name) => name.slice(0, -'.json'.length))
      .filter(isAppName)
      .sort();
  }

  /** Removes the app's settings; nothing happens when it has none. */
  async remove(app: string): Promise<void> {
    await rm(this.path(app), { force: true });
  }

  private path(app: string): string {
    return join(this.dir, `${validateAppName(app)}.json`);
  }
}
