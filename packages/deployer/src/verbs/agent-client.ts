import { ACTOR_HEADER, readDeployEvents, type DeployResult } from '../deploy-stream.js';

/** Where the agent is, how to authenticate, and who asks. */
export interface AgentTarget {
  /** The agent's base URL, e.g. `http://127.0.0.1:8787`. */
  url: string;
  token: string;
  /** Who asks (an SSH key's comment and fingerprint), kept in deploy records. */
  actor?: string;
}

/** The agent refused a request (4xx) or could not be reached; the message is one line for the user. */
export class AgentError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'AgentError';
  }
}

/**
 * A client of the agent's `/v1` API (see `agent-routes.ts`). Every request can be cut short by `signal`: the
 * connection closes, and the agent stops what it streams (a log follow).
 */
export class AgentClient {
  constructor(private readonly target: AgentTarget) {}

  /**
   * GETs a JSON answer.
   * @throws AgentError with the agent's `error` for a refusal, or saying the agent cannot be reached.
   */
  async json<T>(path: string, signal?: AbortSignal): Promise<T> {
    const response = await this.send('GET', path, undefined, signal);
    return (await response.json()) as T;
  }

  /**
   * Sends a change that the agent answers with JSON at once (no deploy stream).
   * @throws AgentError as {@link json} does.
   */
  async change<T>(method: 'POST' | 'DELETE', path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    const response = await this.send(method, path, body, signal);
    return (await response.json()) as T;
  }

  /**
   * Sends a request that answers a deploy stream, handing each log line to `onLine`; resolves with the result.
   * @throws AgentError as {@link json} does, or when the stream breaks off.
   */
  async stream(
    method: 'POST' | 'DELETE',
    path: string,
    body: unknown,
    onLine: (line: string) => void,
    signal?: AbortSignal,
  ): Promise<DeployResult> {
    const response = await this.send(method, path, body, signal);
    if (!response.body) throw new AgentError('the deployer agent answered without a body');
    try {
      return await readDeployEvents(response.body, onLine);
    } catch (error) {
      throw new AgentError((error as Error).message);
    }
  }

  /**
   * GETs an NDJSON stream of events, handing each to `onEvent`, until it ends or `signal` aborts.
   * @throws AgentError as {@link json} does.
   */
  async events(path: string, onEvent: (event: Record<string, unknown>) => void, signal: AbortSignal): Promise<void> {
    const response = await this.send('GET', path, undefined, signal);
    if (!response.body) return;
    const decoder = new TextDecoder();
    let pending = '';
    const handle = (text: string): void => {
      if (text.trim() !== '') onEvent(JSON.parse(text) as Record<string, unknown>);
    };
    try {
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        pending += decoder.decode(chunk, { stream: true });
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        lines.forEach(handle);
      }
      handle(pending);
    } catch (error) {
      if (!signal.aborted)
        throw new AgentError(`lost the connection to the deployer agent: ${(error as Error).message}`);
    }
  }

  private async send(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.target.token}` };
    if (this.target.actor) headers[ACTOR_HEADER] = this.target.actor;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.target.url.replace(/\/$/, '')}/v1${path}`, {
        method,
        headers,
        ...(body !== undefined && { body: JSON.stringify(body) }),
        ...(signal && { signal }),
      });
    } catch (error) {
      throw new AgentError(`cannot reach the deployer agent at ${this.target.url}: ${describeCause(error)}`);
    }
    if (response.ok) return response;
    const text = await response.text();
    let message = text.trim().split('\n')[0] ?? '';
    try {
      const parsed = JSON.parse(text) as { error?: unknown };
      if (typeof parsed.error === 'string') message = parsed.error;
    } catch {
      // not JSON: the first line of the text is the message
    }
    throw new AgentError(message || `the deployer agent answered HTTP ${response.status}`, response.status);
  }
}

function describeCause(error: unknown): string {
  const cause = (error as { cause?: { message?: string } }).cause;
  return cause?.message ?? (error as Error).message;
}
