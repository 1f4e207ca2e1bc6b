import { randomBytes } from 'node:crypto';
import { createWriteStream, type Dirent } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { isAppName, validateAppName } from './app-name.js';

/** One deploy as the history keeps it. */
export interface DeployRecord {
  id: string;
  app: string;
  commit: string;
  branch: string;
  status: DeployStatus;
  startedAt: string;
  finishedAt?: string;
  /** The step the deploy is in while it runs (`checkout`, …, `converge`); once it ended, the last step it reached. */
  step?: string;
  /** When `docker stack deploy` started: from then on the swarm may run the new version. */
  stackDeployedAt?: string;
  /** For an `interrupted` deploy: its last sign of life (its log's or record's last write) before the agent died. */
  interruptedAt?: string;
  /** Each step's duration in milliseconds, in order. */
  steps: { step: string; ms: number }[];
  /** Every image pushed, with the digest the registry answered. */
  images: { service: string; reference: string; digest: string }[];
  urls?: string[];
  error?: string;
  /** The compose file as deployed; a rollback deploys it again. */
  resolvedCompose?: string;
  /** For a rollback: the deploy it brought back. */
  rollbackOf?: string;
  /** The repository the commit was read from, to read it again (redeploy, rollback). */
  repository?: string;
  /** What started it: `push`, `deploy`, `redeploy`, `rollback`, `config`, `scale`. */
  trigger?: DeployTrigger;
  /** Who started it: the SSH key (comment and fingerprint) or `the server`. */
  by?: string;
}

/**
 * How a deploy stands: `running`; or how it ended: `succeeded`, `failed`, `superseded`, `timed-out` (a time limit
 * stopped it), `cancelled` (`cancel APP`), `interrupted` (the agent died while it ran: found so at its next start).
 */
export type DeployStatus =
  'running' | 'succeeded' | 'failed' | 'superseded' | 'timed-out' | 'cancelled' | 'interrupted';

/** What started a deploy. */
export type DeployTrigger = 'push' | 'deploy' | 'redeploy' | 'rollback' | 'config' | 'scale' | 'domains';

/** What a deploy's record says from its start. */
export type DeployStart = Pick<DeployRecord, 'commit' | 'branch' | 'rollbackOf' | 'repository' | 'trigger' | 'by'>;

/** Where a running deploy is, as its record keeps it while it runs. */
export type DeployProgress = Pick<DeployRecord, 'step' | 'stackDeployedAt'>;

/** What a finished deploy adds to its record. */
export type DeployOutcome = Partial<Omit<DeployRecord, 'id' | 'app' | 'startedAt' | 'finishedAt'>>;

/** A deploy being recorded: its log grows line by line as the deploy runs, and `finish` writes the outcome. */
export interface RecordingDeploy {
  /** The record as written when the deploy started. */
  readonly record: DeployRecord;
  /** Appends one line to the deploy's log file. */
  log(line: string): void;
  /** Writes where the deploy is into its record, so a deploy cut short by a crash says where it was. */
  progress(fields: DeployProgress): Promise<void>;
  /** Marks the deploy alive now (its log's modification time), for {@link DeployHistory.interruptStale}. */
  beat(): Promise<void>;
  /**
   * Closes the log and writes the finished record; resolves with the record.
   * @throws HistoryError when the record or a line of the log could not be written (a full disk, say); the record
   * is attempted all the same, and no temporary file is left behind.
   */
  finish(outcome: DeployOutcome): Promise<DeployRecord>;
}

/** The history could not write what it was given. */
export class HistoryError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HistoryError';
  }
}

/** How many deploys of each app the history keeps unless told otherwise (`SWARMLET_HISTORY_LIMIT`). */
export const KEPT_PER_APP = 20;

const DEPLOY_ID = /^\d{8}T\d{9}Z-[0-9a-f]{6}$/;
const RECORD = 'record.json';
const LOG = 'log';

/**
 * The deploy history on disk, one directory per deploy:
 *
 * ```
 * <dir>/
 *   <app>/                        a validated app name (see app-name.ts)
 *     20250102T030405678Z-1a2b3c/ the deploy's id: its start time, then random hex; ids sort by start time
 *       record.json               the DeployRecord, replaced whole through a synced temporary file and a rename
 *       log                       every line of the deploy's log, appended as it streams
 * ```
 *
 * Ids given out by one history are strictly increasing, so its list is in the order deploys started. {@link prune}
 * keeps the newest `keep` deploys of each app (and the deploy the app runs, however old) and removes the older
 * ones' directories, their logs and resolved compose files with them. App names are validated and ids checked
 * against their format before they reach a path.
 */
export class DeployHistory {
  private lastStart = 0;

  /** @param keep how many deploys of each app {@link prune} keeps (at least 1; {@link KEPT_PER_APP} by default). */
  constructor(
    private readonly dir: string,
    private readonly keep = KEPT_PER_APP,
  ) {
    if (!Number.isInteger(keep) || keep < 1)
      throw new RangeError(`the history must keep at least 1 deploy, not ${keep}`);
  }

  /**
   * Records the start of a deploy of `app` and returns the handle to log and finish it.
   * @throws Error for an invalid app name, before anything touches the disk.
   */
  async start(app: string, fields: DeployStart): Promise<RecordingDeploy> {
    validateAppName(app);
    this.lastStart = Math.max(Date.now(), this.lastStart + 1);
    const startedAt = new Date(this.lastStart).toISOString();
    const id = `${startedAt.replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`;
    const record: DeployRecord = {
      id,
      app,
      ...fields,
      status: 'running',
      startedAt,
      steps: [],
      images: [],
    };
    const deployDir = join(this.dir, app, id);
    await mkdir(deployDir, { recursive: true });
    await this.write(record);
    const logPath = join(deployDir, LOG);
    const log = createWriteStream(logPath, { flags: 'a' });
    let current = record;
    let writing = Promise.resolve();
    const save = (next: DeployRecord): Promise<void> => {
      current = next;
      writing = writing.catch(() => undefined).then(() => this.write(next));
      return writing;
    };
    let logError: Error | undefined;
    log.on('error', (error) => {
      logError ??= error;
    });
    return {
      record,
      log: (line) => {
        if (!logError) log.write(`${line}\n`);
      },
      progress: (fields) => save({ ...current, ...fields }),
      beat: async () => {
        const now = new Date();
        await utimes(logPath, now, now).catch(() => undefined);
      },
      finish: async (outcome) => {
        await new Promise<void>((resolve) => {
          if (log.destroyed) resolve();
          else log.end(resolve);
        });
        const finished: DeployRecord = { ...current, ...outcome, finishedAt: new Date().toISOString() };
        try {
          await save(finished);
        } catch (error) {
          throw new HistoryError(
            `the record of deploy ${id} of ${app} could not be written: ${(error as Error).message}${logError ? ` (nor its log: ${logError.message})` : ''}`,
            { cause: error },
          );
        }
        if (logError) {
          throw new HistoryError(`the log of deploy ${id} of ${app} could not be written: ${logError.message}`, {
            cause: logError,
          });
        }
        return finished;
      },
    };
  }

  /**
   * The app's recorded deploys, newest first; a deploy whose record cannot be read is left out.
   * @throws Error for an invalid app name.
   */
  async list(app: string): Promise<DeployRecord[]> {
    const ids = (await this.ids(validateAppName(app))).reverse();
    const records = await Promise.all(ids.map((id) => this.get(app, id)));
    return records.filter((record) => record !== undefined);
  }

  /**
   * One deploy's record, or undefined when there is none with that id (or the id is malformed).
   * @throws Error for an invalid app name.
   */
  async get(app: string, id: string): Promise<DeployRecord | undefined> {
    validateAppName(app);
    if (!DEPLOY_ID.test(id)) return undefined;
    try {
      return JSON.parse(await readFile(join(this.dir, app, id, RECORD), 'utf8')) as DeployRecord;
    } catch (error) {
      if (error instanceof SyntaxError || (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /**
   * A deploy's full log as written so far, or undefined when there is no such deploy.
   * @throws Error for an invalid app name.
   */
  async log(app: string, id: string): Promise<string | undefined> {
    if (!(await this.get(app, id))) return undefined;
    try {
      return await readFile(join(this.dir, app, id, LOG), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw error;
    }
  }

  /**
   * Removes every deploy of the app, logs included.
   * @throws Error for an invalid app name.
   */
  async remove(app: string): Promise<void> {
    await rm(join(this.dir, validateAppName(app)), { recursive: true, force: true });
  }

  /**
   * Closes the records a dead agent left `running`: each whose last sign of life (the later of its log's and its
   * record's modification times, which a running deploy renews with `beat`) is more than `staleMs` before `now`
   * becomes `interrupted`, with `interruptedAt` set to that last sign of life, `finishedAt` to `now`, and an error
   * that says where it was and what may run: nothing deployed when it had not reached `docker stack deploy`, else
   * that the swarm may run the new version. Records of deploys in `skip` (this process's own) are left alone, and so
   * are fresher ones (a live agent's, as in a start-first update of the deployer), counted in `live`.
   */
  async interruptStale(
    now: Date,
    staleMs: number,
    skip: ReadonlySet<string> = new Set(),
  ): Promise<{ interrupted: DeployRecord[]; live: number }> {
    const interrupted: DeployRecord[] = [];
    let live = 0;
    for (const app of await this.apps()) {
      for (const record of await this.list(app)) {
        if (record.status !== 'running' || skip.has(record.id)) continue;
        const lastSign = await this.lastSignOfLife(record);
        if (now.getTime() - lastSign.getTime() <= staleMs) {
          live++;
          continue;
        }
        const closed: DeployRecord = {
          ...record,
          status: 'interrupted',
          interruptedAt: lastSign.toISOString(),
          finishedAt: now.toISOString(),
          error: describeInterruption(record),
        };
        await this.write(closed);
        interrupted.push(closed);
      }
    }
    return { interrupted, live };
  }

  /** Every app with a directory in the history, sorted; anything that is not an app's directory is skipped. */
  async apps(): Promise<string[]> {
    const entries = await this.entries(this.dir);
    return entries
      .filter((entry) => entry.isDirectory() && isAppName(entry.name))
      .map((entry) => entry.name)
      .sort();
  }

  private async ids(app: string): Promise<string[]> {
    const entries = await this.entries(join(this.dir, app));
    return entries
      .filter((entry) => entry.isDirectory() && DEPLOY_ID.test(entry.name))
      .map((entry) => entry.name)
      .sort();
  }

  private async entries(dir: string): Promise<Dirent[]> {
    try {
      return await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  private async lastSignOfLife(record: DeployRecord): Promise<Date> {
    const dir = join(this.dir, record.app, record.id);
    const times = await Promise.all(
      [RECORD, LOG].map((file) =>
        stat(join(dir, file)).then(
          (info) => info.mtimeMs,
          () => 0,
        ),
      ),
    );
    return new Date(Math.max(...times));
  }

  /**
   * Removes the app's deploys beyond the newest `keep`, but never the newest successful one (what the app runs);
   * call it between deploys of the app. Resolves with the removed deploys' records, oldest first (one whose record
   * could not be read is removed and left out), so what only they used can be released.
   * @throws Error for an invalid app name, or when a directory could not be removed.
   */
  async prune(app: string): Promise<DeployRecord[]> {
    const records = await this.list(app);
    const deployed = records.find((record) => record.status === 'succeeded');
    const ids = await this.ids(app);
    const dropped: DeployRecord[] = [];
    for (const id of ids.slice(0, Math.max(ids.length - this.keep, 0))) {
      if (id === deployed?.id) continue;
      await rm(join(this.dir, app, id), { recursive: true, force: true });
      const record = records.find((candidate) => candidate.id === id);
      if (record) dropped.push(record);
    }
    return dropped;
  }

  private async write(record: DeployRecord): Promise<void> {
    const path = join(this.dir, record.app, record.id, RECORD);
    const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      const file = await open(temporary, 'w');
      try {
        await file.writeFile(`${JSON.stringify(record, null, 2)}\n`);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temporary, path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }
}

/** Why a deploy left `running` by a dead agent ended, where it was, and what the swarm may run. */
function describeInterruption(record: DeployRecord): string {
  const where = record.step ?? 'start';
  if (record.stackDeployedAt !== undefined) {
    return (
      `interrupted during ${where} after docker stack deploy (the agent stopped: killed or crashed): the swarm may ` +
      `run the new version; \`status ${record.app}\` shows what runs`
    );
  }
  return (
    `interrupted during ${where} (the agent stopped: killed or crashed): nothing was deployed, the previous ` +
    `version keeps serving`
  );
}
