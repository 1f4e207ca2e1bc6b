import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ACTOR_HEADER } from '@swarmlet/deployer';

/** A pushed commit to deploy. */
export interface DeployRequest {
  /** The app name, as `parseRepoName` returns it. */
  app: string;
  /** The app's bare repository: an absolute path on the machine the deployer runs on. */
  repoPath: string;
  /** The full SHA of the pushed commit. */
  commit: string;
  /** The branch pushed, without `refs/heads/` (`master` or `main`). */
  branch: string;
  /**
   * Object directories that hold the commit besides the repository's own: the push's quarantine
   * (`GIT_QUARANTINE_PATH`), where git keeps pushed objects until the pre-receive hook accepts them.
   */
  objectDirectories?: string[];
}

/**
 * How a deploy ended. On success `url` is the app's address and `urls` every address when it has several; on
 * failure `error` is a one-line reason.
 */
export interface DeployOutcome {
  ok: boolean;
  url?: string;
  urls?: string[];
  error?: string;
}

/**
 * Something that deploys a pushed commit and reports as it goes. `deploy` calls `onLine` with each line of the
 * deploy's log as it happens and resolves with the outcome. It never rejects: an unreachable deployer, a refused
 * request or a broken answer resolve as `{ ok: false, error }`.
 */
export interface DeployClient {
  deploy(request: DeployRequest, onLine: (line: string) => void): Promise<DeployOutcome>;
}

/** Where the deployer agent is and how to authenticate to it. */
export interface HttpDeployClientOptions {
  /** The agent's base URL, e.g. `http://127.0.0.1:8787`; a path prefix is kept. */
  url: string;
  /** Sent as `Authorization: Bearer <token>` when given. */
  token?: string;
  /** Who pushes (the key's comment and fingerprint), sent as the `Swarmlet-Actor` header for the deploy record. */
  actor?: string;
}

const MAX_LINE = 1 << 20;
const MAX_ERROR_BODY = 64 << 10;

/**
 * A {@link DeployClient} that asks the deployer agent over HTTP. The contract with the agent:
 *
 * Request: `POST <url>/v1/apps/<app>/deploys` with `Content-Type: application/json`,
 * `Accept: application/x-ndjson`, `Authorization: Bearer <token>` and the body
 * `{"repository": "<absolute path of the bare repository>", "commit": "<full sha>", "branch": "master",
 * "objectDirectories": ["<quarantine>"]}` (`objectDirectories` only when the commit is still in a pre-receive
 * quarantine; the agent must finish reading the commit before it answers, since the quarantine is removed after).
 *
 * Answer: status 200 with an NDJSON body, one JSON object a line, streamed as the deploy runs:
 * `{"type":"log","line":"…"}` for each log line (waiting for an earlier deploy of the app included), ending with
 * exactly one `{"type":"result","ok":true,"url":"https://…"}` or `{"type":"result","ok":false,"error":"…"}`.
 * A result may list its addresses as `"urls":[…]` instead, and may say `"status":"superseded"` when a newer push
 * to the app took the deploy's place in the queue; other fields are ignored. Lines of another type are ignored;
 * a line that is not JSON is shown as it is. Any other status is a refusal;
 * its body (`{"error":"…"}`, or text) becomes the error. The agent finishes and records a deploy even when this
 * client goes away: a vanished pusher must not leave a half-done deploy.
 */
export class HttpDeployClient implements DeployClient {
  constructor(private readonly options: HttpDeployClientOptions) {}

  deploy(request: DeployRequest, onLine: (line: string) => void): Promise<DeployOutcome> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (result: DeployOutcome): void => {
        if (settled) return;
        settled = true;
        resolve(result);
      };
      let target: URL;
      try {
        const base = this.options.url.endsWith('/') ? this.options.url : `${this.options.url}/`;
        target = new URL(`v1/apps/${encodeURIComponent(request.app)}/deploys`, base);
      } catch {
        settle({ ok: false, error: `the deployer agent URL ${JSON.stringify(this.options.url)} is not a URL` });
        return;
      }
      const body = JSON.stringify({
        repository: request.repoPath,
        commit: request.commit,
        branch: request.branch,
        ...(request.objectDirectories?.length ? { objectDirectories: request.objectDirectories } : {}),
      });
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: 'application/x-ndjson',
        'content-length': String(Buffer.byteLength(body)),
      };
      if (this.options.token !== undefined) headers.authorization = `Bearer ${this.options.token}`;
      if (this.options.actor !== undefined) headers[ACTOR_HEADER.toLowerCase()] = this.options.actor;
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const agent = target.origin;
      const outgoing = send(target, { method: 'POST', headers, agent: false }, (response) => {
        if (response.statusCode === 200) readStream(response, onLine, settle);
        else readRefusal(response, settle);
      });
      outgoing.on('socket', (socket) => socket.setKeepAlive(true, 30_000));
      outgoing.on('error', (error) => {
        settle({ ok: false, error: `cannot reach the deployer agent at ${agent}: ${error.message}` });
      });
      outgoing.end(body);
    });
  }
}

function readStream(
  response: IncomingMessage,
  onLine: (line: string) => void,
  settle: (r: DeployOutcome) => void,
): void {
  let pending = '';
  const handle = (text: string): void => {
    if (text.trim() === '') return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      onLine(text);
      return;
    }
    if (!isRecord(message)) return;
    if (message.type === 'log' && typeof message.line === 'string') onLine(message.line);
    if (message.type === 'result') settle(outcome(message));
  };
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    pending += chunk;
    let newline = pending.indexOf('\n');
    while (newline !== -1) {
      handle(pending.slice(0, newline).replace(/\r$/, ''));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
    if (pending.length > MAX_LINE) {
      handle(pending);
      pending = '';
    }
  });
  response.on('end', () => {
    handle(pending);
    settle({ ok: false, error: 'the deployer agent ended its answer without a result' });
  });
  response.on('error', (error) => {
    settle({ ok: false, error: `lost the connection to the deployer agent: ${error.message}` });
  });
  response.on('close', () => {
    settle({ ok: false, error: 'lost the connection to the deployer agent' });
  });
}

function readRefusal(response: IncomingMessage, settle: (r: DeployOutcome) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  response.on('data', (chunk: Buffer) => {
    if (size < MAX_ERROR_BODY) chunks.push(chunk);
    size += chunk.length;
  });
  const finish = (): void => {
    const text = Buffer.concat(chunks).toString('utf8').slice(0, MAX_ERROR_BODY).trim();
    let reason = text;
    try {
      const parsed: unknown = JSON.parse(text);
      if (isRecord(parsed) && typeof parsed.error === 'string') reason = parsed.error;
    } catch {
      reason = text;
    }
    const firstLine = reason.split('\n')[0] ?? '';
    settle({
      ok: false,
      error: `the deployer agent refused the deploy (HTTP ${response.statusCode ?? 0})${firstLine ? `: ${firstLine}` : ''}`,
    });
  };
  response.on('end', finish);
  response.on('error', finish);
}

function outcome(message: Record<string, unknown>): DeployOutcome {
  const result: DeployOutcome = { ok: message.ok === true };
  const urls = Array.isArray(message.urls) ? message.urls.filter((url) => typeof url === 'string') : [];
  if (typeof message.url === 'string') urls.unshift(message.url);
  if (urls[0] !== undefined) result.url = urls[0];
  if (urls.length > 1) result.urls = urls;
  if (typeof message.error === 'string') result.error = message.error;
  else if (!result.ok) {
    result.error = message.status === 'superseded' ? 'a newer push to the app took its place' : 'the deploy failed';
  }
  return result;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
