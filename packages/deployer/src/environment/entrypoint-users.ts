import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The unprivileged user and group a project's entrypoint runs as. */
export interface EntrypointUser {
  uid: number;
  gid: number;
}

/** The first uid given to an app's entrypoint when none is configured. */
export const DEFAULT_ENTRYPOINT_UID_BASE = 2_100_000_000;

/** How many apps can have a user of their own: uids `base` to `base + ENTRYPOINT_UID_SPAN - 1`. */
export const ENTRYPOINT_UID_SPAN = 65_536;

/** Whether this process can run an entrypoint as another user: only root can switch to one. */
export function canConfineEntrypoints(): boolean {
  return process.getuid?.() === 0;
}

/**
 * The users that apps' entrypoints run as: one per app, taken from the uids `base`, `base + 1`, … in the order the
 * apps first deploy, with a group of the same number and no other group. The choices are recorded in `file` (JSON,
 * mode 0600, replaced atomically) so an app keeps its user across restarts and two apps never share one, even after
 * one is destroyed. The range should be used by nobody else on the machine: every process of such a uid is killed
 * when an entrypoint ends.
 */
export class EntrypointUsers {
  private pending: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly base = DEFAULT_ENTRYPOINT_UID_BASE,
  ) {}

  /**
   * The app's user, chosen and recorded the first time; `undefined` when this process is not root and so cannot
   * run anything as another user. Calls are served one at a time.
   * @throws Error when the record cannot be read or written, or every uid of the range is taken.
   */
  userFor(app: string): Promise<EntrypointUser | undefined> {
    if (!canConfineEntrypoints()) return Promise.resolve(undefined);
    const next = this.pending.then(() => this.allocate(app));
    this.pending = next.catch(() => undefined);
    return next;
  }

  private async allocate(app: string): Promise<EntrypointUser> {
    const record = await this.read();
    let uid = record[app];
    if (uid === undefined) {
      const taken = new Set(Object.values(record));
      uid = this.base;
      while (taken.has(uid)) uid++;
      if (uid >= this.base + ENTRYPOINT_UID_SPAN) {
        throw new Error(`every entrypoint uid from ${this.base} to ${this.base + ENTRYPOINT_UID_SPAN - 1} is taken`);
      }
      record[app] = uid;
      await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
      const temporary = `${this.file}.tmp`;
      await writeFile(temporary, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
      await rename(temporary, this.file);
    }
    return { uid, gid: uid };
  }

  private async read(): Promise<Record<string, number>> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw error;
    }
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new Error(`${this.file} is not a record of entrypoint users`);
    }
    const record: Record<string, number> = {};
    for (const [app, uid] of Object.entries(parsed)) {
      if (!Number.isInteger(uid)) throw new Error(`${this.file}: the uid of ${app} is not a number`);
      record[app] = uid as number;
    }
    return record;
  }
}
