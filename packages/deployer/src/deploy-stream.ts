import { PassThrough } from 'node:stream';

/** The request header naming who asks the agent (an SSH key's comment and fingerprint), kept in deploy records. */
export const ACTOR_HEADER = 'Swarmlet-Actor';

/** How a deploy (or rollback) ended, as the agent answers it. */
export interface DeployResult {
  ok: boolean;
  /**
   * `succeeded`, `failed`, `superseded` (a newer request for the app took its place in the queue), `timed-out` (a
   * time limit stopped it), `cancelled` (`cancel APP` stopped it, or dropped it before it ran).
   */
  status: 'succeeded' | 'failed' | 'superseded' | 'timed-out' | 'cancelled';
  deployId?: string;
  /** The app's URLs, read from its Traefik Host rules. */
  urls?: string[];
  error?: string;
}

/** One line of the agent's NDJSON answer to a deploy request. */
export type DeployEvent = { type: 'log'; line: string } | ({ type: 'result' } & DeployResult);

/**
 * Answers a request with an NDJSON stream: one `{"type":"log","line":…}` per line `run` reports, then one
 * `{"type":"result",…}`. Resolves with the stream (the response body) once `run` reported its first line or its
 * result; rejects with `run`'s error when it throws before any line, so refused input can be answered with a 4xx
 * instead (a later throw becomes a failed result). The run goes on to its end when the client goes away; lines
 * are then dropped.
 */
export function openDeployEvents(run: (onLine: (line: string) => void) => Promise<DeployResult>): Promise<PassThrough> {
  return new Promise((resolve, reject) => {
    let body: PassThrough | undefined;
    const opened = (): PassThrough => {
      if (!body) {
        body = new PassThrough();
        body.on('error', () => undefined);
        resolve(body);
      }
      return body;
    };
    const send = (event: DeployEvent): void => {
      const stream = opened();
      if (!stream.destroyed && stream.writable) stream.write(`${JSON.stringify(event)}\n`);
    };
    run((line) => {
      send({ type: 'log', line });
    }).then(
      (result) => {
        send({ type: 'result', ...result });
        body?.end();
      },
      (error: unknown) => {
        if (!body) {
          reject(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        send({ type: 'result', ok: false, status: 'failed', error: (error as Error).message });
        body.end();
      },
    );
  });
}

/**
 * Reads an agent's NDJSON deploy answer, handing each log line to `onLine`, and resolves with the result.
 * @throws Error when the stream ends without a result or holds a line that is not an event.
 */
export async function readDeployEvents(
  body: AsyncIterable<Uint8Array>,
  onLine: (line: string) => void,
): Promise<DeployResult> {
  const decoder = new TextDecoder();
  let pending = '';
  let result: DeployResult | undefined;
  const handle = (text: string): void => {
    if (text.trim() === '') return;
    let event: DeployEvent;
    try {
      event = JSON.parse(text) as DeployEvent;
    } catch {
      throw new Error(`the deployer answered with something that is not a deploy event: ${text.slice(0, 200)}`);
    }
    if (event.type === 'log') onLine(event.line);
    else {
      const { type, ...rest } = event;
      result = rest;
    }
  };
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    lines.forEach(handle);
  }
  handle(pending + decoder.decode());
  if (!result) throw new Error('the deployer closed the connection before the deploy ended');
  return result;
}
