import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { validateAppName } from './app-name.js';

/** One deploy as the history keeps it. */
export interface DeployRecord {
  id: string;
  app: string;
  commit: string;
  branch: string;
  status: 'running' | 'succeeded' | 'failed' | 'superseded';
  startedAt: string;
  finishedAt?: string;
  /** Each step's duration in milliseconds. */
  steps: { step: string; ms: number }[];
  images: { service: string; reference: string; digest: string }[];
  urls?: string[];
  error?: string;
  /** The compose file as deployed; a rollback deploys it again. */
  resolvedCompose?: string;
  /** For a rollback: the deploy it brought back. */
  rollbackOf?: string;
}

/** A deploy being recorded: its log grows line by line, and `finish` writes the outcome. */
export interface RecordingDeploy {
  record: DeployRecord;
  log(line: string): void;
  finish(outcome: Partial<Omit<DeployRecord, 'id' | 'app' | 'startedAt'>>): Promise<DeployRecord>;
}

/** How many deploys per app the history keeps. */
export const KEPT_PER_APP = 20;

/**
 * The deploy history on disk: `<dir>/<app>/<id>/record.json` (replaced atomically) and `<dir>/<app>/<id>/log`
 * (appended as the deploy runs). Ids sort by start time (milliseconds, strictly increasing within a process),
 * newest last; the newest {@link KEPT_PER_APP} deploys of
 * each app are kept. App names are validated before they touch the disk.
 */
export class DeployHistory {
  private lastStart = 0;

  constructor(private readonly dir: string) {}

  /** Records the start of a deploy and returns the handle to log and finish it. */
  async start(app: string, fields: { commit: string; branch: string; rollbackOf?: string }): Promise<RecordingDeploy> {
    validateAppName(app);
    this.lastStart = Math.max(Date.now(), this.lastStart + 1);
    const startedAt = new Date(this.lastStart);
    const id = `${startedAt.toISOString().replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`;
    const record: DeployRecord = {
      id,
      app,
      ...fields,
      status: 'running',
      startedAt: startedAt.toISOString(),
      steps: [],
      images: [],
    };
    const deployDir = join(this.dir, app, id);
    await mkdir(deployDir, { recursive: true });
    await this.write(record);
    const log = createWriteStream(join(deployDir, 'log'), { flags: 'a' });
    return {
      record,
      log: (line) => {
        log.write(`${line}\n`);
      },
      finish: async (outcome) => {
        await new Promise<void>((resolve) => log.end(resolve));
        const finished: DeployRecord = { ...record, ...outcome, finishedAt: new Date().toISOString() };
        await this.write(finished);
        await this.prune(app);
        return finished;
      },
    };
  }

  /** The app's deploys, newest first. */
  async list(app: string): Promise<DeployRecord[]> {
    const ids = (await this.ids(validateAppName(app))).reverse();
    const records = await Promise.all(ids.map((id) => this.get(app, id)));
    return records.filter((record): record is DeployRecord => record !== undefined);
  }

  /** One deploy, or undefined. */
  async get(app: string, id: string): Promise<DeployRecord | undefined> {
    if (!/^[0-9TZ]+-[0-9a-f]{6}$/.test(id)) return undefined;
    try {
      return JSON.parse(
        await readFile(join(this.dir, validateAppName(app), id, 'record.json'), 'utf8'),
      ) as DeployRecord;
    } catch {
      return undefined;
    }
  }

  /** A deploy's full log, or undefined. */
  async log(app: string, id: string): Promise<string | undefined> {
    if (!(await this.get(app, id))) return undefined;
    return readFile(join(this.dir, app, id, 'log'), 'utf8').catch(() => '');
  }

  /** Every app with a recorded deploy, sorted. */
  async apps(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => []);
    return names.filter((name) => !name.startsWith('.')).sort();
  }

  private async ids(app: string): Promise<string[]> {
    const names = await readdir(join(this.dir, app)).catch(() => []);
    return names.filter((name) => /^[0-9TZ]+-[0-9a-f]{6}$/.test(name)).sort();
  }

  private async write(record: DeployRecord): Promise<void> {
    const path = join(this.dir, record.app, record.id, 'record.json');
    const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temporary, `${JSON.stringify(record, null, 2)}\n`);
    await rename(temporary, path);
  }

  private async prune(app: string): Promise<void> {
    const ids = await this.ids(app);
    for (const id of ids.slice(0, Math.max(ids.length - KEPT_PER_APP, 0))) {
      await rm(join(this.dir, app, id), { recursive: true, force: true });
    }
  }
}
