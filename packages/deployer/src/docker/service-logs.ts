import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { noSuchService, ServiceChangeError, stackFilter } from './app-services.js';

/** One line an app's service wrote. */
export interface LogLine {
  /** The task it came from, `web.1` (or `web.<node>` for a global service). */
  task: string;
  node: string;
  /** When the engine received it (RFC 3339). */
  time: string;
  stream: 'stdout' | 'stderr';
  text: string;
}

/** Which lines a {@link ServiceLogReader} reads. */
export interface LogOptions {
  follow: boolean;
  /** Unix time in seconds: only lines after it. */
  since?: number;
  /** Only the last this many lines of each service. */
  tail?: number;
  /** Ends the reading (and, when following, the engine's streams) at once. */
  signal: AbortSignal;
}

interface ServiceInfo {
  ID: string;
  Spec: { Name: string; Mode?: { Global?: object } };
}

interface TaskInfo {
  ID: string;
  ServiceID?: string;
  NodeID?: string;
  Slot?: number;
}

/**
 * Reads the logs of the services {@link openServiceLogs} found, handing each line to `onLine`. Without `follow`,
 * the lines of all services come sorted by time and the promise resolves after the last; with it, lines come as
 * they are written until `signal` aborts, which closes the engine streams at once. Resolves when everything is read
 * or the signal aborted.
 * @throws Error when the engine refuses.
 */
export type ServiceLogReader = (options: LogOptions, onLine: (line: LogLine) => void) => Promise<void>;

/**
 * Finds the services of `app` whose logs to read (only `service`, by its compose name, when given) and resolves
 * with their reader, which reads them through the Engine API (`docker service logs`: the swarm gathers the lines
 * of tasks on every node).
 * @throws ServiceChangeError when the app runs no service, or not that one (naming its services).
 */
export async function openServiceLogs(docker: Docker, app: string, service?: string): Promise<ServiceLogReader> {
  const services = (await docker.listServices({ filters: stackFilter(app) })) as ServiceInfo[];
  const chosen = services.filter((info) => service === undefined || info.Spec.Name === `${app}_${service}`);
  if (chosen.length === 0) {
    const names = services.map((info) => info.Spec.Name.slice(app.length + 1));
    throw new ServiceChangeError(service === undefined ? `${app} runs no service` : noSuchService(app, service, names));
  }
  return async (options, onLine) => {
    const names = new TaskNames(docker, app, services);
    const collected: LogLine[] = [];
    const emit = options.follow ? onLine : (line: LogLine) => collected.push(line);
    await Promise.all(chosen.map((info) => readService(docker, info, options, names, emit)));
    collected.sort((a, b) => a.time.localeCompare(b.time));
    if (!options.signal.aborted) collected.forEach(onLine);
  };
}

async function readService(
  docker: Docker,
  service: ServiceInfo,
  options: LogOptions,
  names: TaskNames,
  emit: (line: LogLine) => void,
): Promise<void> {
  const answer = (await docker.getService(service.ID).logs({
    stdout: true,
    stderr: true,
    follow: options.follow,
    timestamps: true,
    details: true,
    ...(options.since !== undefined && { since: options.since }),
    ...(options.tail !== undefined && { tail: options.tail }),
    abortSignal: options.signal,
  } as Parameters<Docker.Service['logs']>[0])) as unknown as Buffer | NodeJS.ReadableStream;
  const stream: NodeJS.ReadableStream & { destroy(): void } = Buffer.isBuffer(answer)
    ? Readable.from([answer])
    : (answer as NodeJS.ReadableStream & { destroy(): void });
  const stop = (): void => {
    stream.destroy();
  };
  if (options.signal.aborted) stop();
  options.signal.addEventListener('abort', stop, { once: true });
  const frames = new FrameReader();
  try {
    for await (const chunk of stream) {
      for (const frame of frames.push(chunk as Buffer)) {
        const line = await parseLine(frame.text, frame.stream, names);
        if (line) emit(line);
      }
    }
  } catch (error) {
    if (!options.signal.aborted) throw error;
  } finally {
    options.signal.removeEventListener('abort', stop);
  }
}

/**
 * Splits the engine's multiplexed log stream (8-byte headers: stream type, then the payload's length) into lines.
 * A stream whose first byte is no stream type is read as plain text (a service with a TTY).
 */
class FrameReader {
  private pending = Buffer.alloc(0);
  private plain: boolean | undefined;
  private partial: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };

  push(chunk: Buffer): { stream: 'stdout' | 'stderr'; text: string }[] {
    this.pending = Buffer.concat([this.pending, chunk]);
    this.plain ??= this.pending.length > 0 && (this.pending[0] ?? 0) > 2;
    const lines: { stream: 'stdout' | 'stderr'; text: string }[] = [];
    const collect = (stream: 'stdout' | 'stderr', text: string): void => {
      const parts = (this.partial[stream] + text).split('\n');
      this.partial[stream] = parts.pop() ?? '';
      for (const part of parts) lines.push({ stream, text: part.replace(/\r$/, '') });
    };
    if (this.plain) {
      collect('stdout', this.pending.toString('utf8'));
      this.pending = Buffer.alloc(0);
      return lines;
    }
    while (this.pending.length >= 8) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      const stream = this.pending[0] === 2 ? 'stderr' : 'stdout';
      collect(stream, this.pending.subarray(8, 8 + size).toString('utf8'));
      this.pending = this.pending.subarray(8 + size);
    }
    return lines;
  }
}

const DETAILED_LINE = /^(\S+) (\S*com\.docker\.swarm\.[^ ]*) ?(.*)$/s;

async function parseLine(text: string, stream: 'stdout' | 'stderr', names: TaskNames): Promise<LogLine | undefined> {
  const match = DETAILED_LINE.exec(text);
  if (!match) return undefined;
  const attributes = new Map(
    (match[2] ?? '').split(',').map((pair) => {
      const equals = pair.indexOf('=');
      return [pair.slice(0, equals), decodeURIComponent(pair.slice(equals + 1))] as const;
    }),
  );
  const task = await names.name(attributes.get('com.docker.swarm.task.id') ?? '');
  return { task: task.name, node: task.node, time: match[1] ?? '', stream, text: match[3] ?? '' };
}

/** Task ids to `web.1` and node hostnames, looked up again when a task started after the last look. */
class TaskNames {
  private tasks = new Map<string, { name: string; node: string }>();
  private loaded: Promise<void> | undefined;

  constructor(
    private readonly docker: Docker,
    private readonly app: string,
    private readonly services: ServiceInfo[],
  ) {}

  async name(taskId: string): Promise<{ name: string; node: string }> {
    let known = this.tasks.get(taskId);
    if (known) return known;
    this.loaded ??= this.load().finally(() => {
      this.loaded = undefined;
    });
    await this.loaded;
    known = this.tasks.get(taskId);
    return known ?? { name: taskId.slice(0, 12), node: '' };
  }

  private async load(): Promise<void> {
    const [tasks, nodes] = await Promise.all([
      this.docker.listTasks({ filters: stackFilter(this.app) }) as Promise<TaskInfo[]>,
      this.docker.listNodes() as Promise<{ ID: string; Description?: { Hostname?: string } }[]>,
    ]);
    const hostnames = new Map(nodes.map((node) => [node.ID, node.Description?.Hostname ?? node.ID.slice(0, 12)]));
    for (const task of tasks) {
      const service = this.services.find((info) => info.ID === task.ServiceID);
      const short = service ? service.Spec.Name.slice(this.app.length + 1) : '?';
      const node = task.NodeID ? (hostnames.get(task.NodeID) ?? task.NodeID.slice(0, 12)) : '';
      const global = service?.Spec.Mode?.Global !== undefined;
      this.tasks.set(task.ID, { name: global ? `${short}.${node}` : `${short}.${task.Slot ?? 0}`, node });
    }
  }
}
