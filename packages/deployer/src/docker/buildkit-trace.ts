import { readFields, type WireField } from './protobuf-wire.js';

/** A step of a BuildKit build (a vertex of its graph), as one status update describes it. */
export interface TraceVertex {
  digest: string;
  name: string;
  cached: boolean;
  /** Milliseconds since the epoch, when known. */
  started?: number;
  completed?: number;
  error?: string;
}

/** Progress of a sub-task of a vertex (a transfer, an export), as one status update describes it. */
export interface TraceStatus {
  id: string;
  vertex: string;
  name: string;
  current: number;
  total: number;
  started?: number;
  completed?: number;
}

/** Output a vertex wrote (stream 1 stdout, 2 stderr). */
export interface TraceLog {
  vertex: string;
  /** Milliseconds since the epoch. */
  timestamp?: number;
  stream: number;
  data: Buffer;
}

/** One BuildKit `StatusResponse`: what changed since the previous one. */
export interface BuildTrace {
  vertexes: TraceVertex[];
  statuses: TraceStatus[];
  logs: TraceLog[];
}

/**
 * Decodes the `aux` of a `moby.buildkit.trace` message of the Engine's build stream: base64 of a protobuf
 * `moby.buildkit.v1.StatusResponse`. Fields it does not know (warnings, progress groups) are skipped. Pure.
 * @throws WireFormatError when the message is not a readable protobuf.
 */
export function decodeBuildTrace(aux: string): BuildTrace {
  const trace: BuildTrace = { vertexes: [], statuses: [], logs: [] };
  for (const field of readFields(Buffer.from(aux, 'base64'))) {
    if (field.type !== 'bytes') continue;
    if (field.field === 1) trace.vertexes.push(decodeVertex(readFields(field.value)));
    else if (field.field === 2) trace.statuses.push(decodeStatus(readFields(field.value)));
    else if (field.field === 3) trace.logs.push(decodeLog(readFields(field.value)));
  }
  return trace;
}

function decodeVertex(fields: WireField[]): TraceVertex {
  const vertex: TraceVertex = { digest: '', name: '', cached: false };
  for (const field of fields) {
    if (field.field === 1) vertex.digest = text(field);
    else if (field.field === 3) vertex.name = text(field);
    else if (field.field === 4) vertex.cached = field.type === 'varint' && field.value !== 0n;
    else if (field.field === 5) vertex.started = timestamp(field);
    else if (field.field === 6) vertex.completed = timestamp(field);
    else if (field.field === 7) vertex.error = text(field);
  }
  return vertex;
}

function decodeStatus(fields: WireField[]): TraceStatus {
  const status: TraceStatus = { id: '', vertex: '', name: '', current: 0, total: 0 };
  for (const field of fields) {
    if (field.field === 1) status.id = text(field);
    else if (field.field === 2) status.vertex = text(field);
    else if (field.field === 3) status.name = text(field);
    else if (field.field === 4) status.current = integer(field);
    else if (field.field === 5) status.total = integer(field);
    else if (field.field === 7) status.started = timestamp(field);
    else if (field.field === 8) status.completed = timestamp(field);
  }
  return status;
}

function decodeLog(fields: WireField[]): TraceLog {
  const log: TraceLog = { vertex: '', stream: 1, data: Buffer.alloc(0) };
  for (const field of fields) {
    if (field.field === 1) log.vertex = text(field);
    else if (field.field === 2) log.timestamp = timestamp(field);
    else if (field.field === 3) log.stream = integer(field);
    else if (field.field === 4 && field.type === 'bytes') log.data = field.value;
  }
  return log;
}

function text(field: WireField): string {
  return field.type === 'bytes' ? field.value.toString('utf8') : '';
}

function integer(field: WireField): number {
  return field.type === 'varint' ? Number(BigInt.asIntN(64, field.value)) : 0;
}

/** A `google.protobuf.Timestamp` (seconds = 1, nanos = 2) in milliseconds since the epoch. */
function timestamp(field: WireField): number | undefined {
  if (field.type !== 'bytes') return undefined;
  let seconds = 0;
  let nanos = 0;
  for (const part of readFields(field.value)) {
    if (part.field === 1) seconds = integer(part);
    else if (part.field === 2) nanos = integer(part);
  }
  return seconds * 1000 + Math.floor(nanos / 1e6);
}

interface VertexState {
  number: number;
  name: string;
  started?: number;
  shown: boolean;
  done: boolean;
  /** Output not yet ended by a newline. */
  partial: string;
  /** Every output line of a step not yet finished: shown again in full when the step fails. */
  output: string[];
  statusesDone: Set<string>;
}

/** Lines of output kept per running step for the failure summary; older lines were shown as they came. */
const KEPT_OUTPUT_LINES = 2000;

/**
 * Turns BuildKit status updates into the lines `docker build --progress=plain` shows: `#N <step name>` when a
 * step starts, `#N <seconds> <output line>` for its output, `#N <transfer> done` for finished transfers, and
 * `#N CACHED`, `#N DONE <seconds>s` or `#N ERROR: <message>` when it ends; then, when the build fails, each failed
 * step's full output again between `------` rules. Steps are numbered in the order they appear.
 */
export class PlainProgress {
  private readonly vertexes = new Map<string, VertexState>();
  private readonly failed: { name: string; output: string[] }[] = [];

  constructor(private readonly onLine: (line: string) => void) {}

  /** Shows what one status update changed. */
  write(trace: BuildTrace): void {
    for (const vertex of trace.vertexes) this.vertex(vertex);
    for (const status of trace.statuses) this.status(status);
    for (const log of trace.logs) this.log(log);
  }

  /**
   * Flushes output left without a final newline; when the build failed, shows each failed step's output again
   * (a step can fail without failing the build: an unreachable cache source). Call once, at the end.
   */
  end(buildFailed: boolean): void {
    for (const [, state] of this.vertexes) this.flush(state);
    for (const failure of buildFailed ? this.failed : []) {
      this.onLine('------');
      this.onLine(` > ${failure.name}:`);
      for (const line of failure.output) this.onLine(line);
      this.onLine('------');
    }
    this.failed.length = 0;
  }

  private state(digest: string, name = ''): VertexState {
    let state = this.vertexes.get(digest);
    if (!state) {
      state = {
        number: this.vertexes.size + 1,
        name,
        shown: false,
        done: false,
        partial: '',
        output: [],
        statusesDone: new Set(),
      };
      this.vertexes.set(digest, state);
    }
    if (name !== '') state.name = name;
    return state;
  }

  private vertex(vertex: TraceVertex): void {
    const state = this.state(vertex.digest, vertex.name);
    if (state.done) return;
    if (vertex.started === undefined && vertex.completed === undefined && !vertex.cached) return;
    this.header(state, vertex.started ?? vertex.completed);
    if (vertex.completed === undefined && !vertex.cached) return;
    this.flush(state);
    state.done = true;
    const id = `#${state.number}`;
    if (vertex.error) {
      this.onLine(`${id} ERROR: ${vertex.error}`);
      this.failed.push({ name: state.name, output: state.output });
    } else if (vertex.cached) {
      this.onLine(`${id} CACHED`);
    } else {
      const seconds = ((vertex.completed ?? 0) - (vertex.started ?? state.started ?? 0)) / 1000;
      this.onLine(`${id} DONE ${Math.max(0, seconds).toFixed(1)}s`);
    }
    state.output = [];
  }

  /** Names the step once, when it first shows activity. */
  private header(state: VertexState, started: number | undefined): void {
    if (state.shown) return;
    state.shown = true;
    if (started !== undefined) state.started = started;
    this.onLine(`#${state.number} ${state.name}`);
  }

  private status(status: TraceStatus): void {
    if (status.completed === undefined) return;
    const state = this.state(status.vertex);
    this.header(state, status.started);
    if (state.statusesDone.has(status.id)) return;
    state.statusesDone.add(status.id);
    const amount =
      status.total > 0
        ? ` ${formatBytes(status.current)} / ${formatBytes(status.total)}`
        : status.current > 0
          ? ` ${formatBytes(status.current)}`
          : '';
    const name = status.name !== '' ? status.name : status.id;
    this.onLine(`#${state.number} ${name}${amount} done`);
  }

  private log(log: TraceLog): void {
    const state = this.state(log.vertex);
    this.header(state, log.timestamp);
    const at = log.timestamp !== undefined && state.started ? (log.timestamp - state.started) / 1000 : 0;
    const text = state.partial + log.data.toString('utf8');
    const lines = text.split(/\r?\n/);
    state.partial = lines.pop() ?? '';
    for (const line of lines) this.outputLine(state, line, at);
  }

  private flush(state: VertexState): void {
    if (state.partial === '') return;
    this.outputLine(state, state.partial, 0);
    state.partial = '';
  }

  private outputLine(state: VertexState, line: string, at: number): void {
    this.onLine(`#${state.number} ${Math.max(0, at).toFixed(3)} ${line}`);
    state.output.push(line);
    if (state.output.length > KEPT_OUTPUT_LINES) state.output.shift();
  }
}

function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes}B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 'B';
  for (const next of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = next;
  }
  return `${value.toFixed(2)}${unit}`;
}
