/** One message of the Docker Engine's JSON progress stream (build, push, pull). */
export interface ProgressMessage {
  stream?: string;
  status?: string;
  id?: string;
  progress?: string;
  /** Structured data: an object (`{ID}`, `{Digest}`), or BuildKit's base64 status for `moby.buildkit.trace`. */
  aux?: Record<string, unknown> | string;
  error?: string;
  errorDetail?: { code?: number; message?: string };
}

/**
 * A failure that Docker reported inside a successful (200) progress stream, or a stream that could not be read.
 * `step` says which operation failed (`build`, `push`, …) and `subject` what it was working on.
 */
export class DockerStreamError extends Error {
  constructor(
    readonly step: string,
    readonly subject: string,
    readonly detail: string,
  ) {
    super(`${step} of ${subject} failed: ${detail}`);
    this.name = 'DockerStreamError';
  }
}

/**
 * Reads a Docker JSON progress stream to its end, handing each message to `onMessage` as it arrives. Resolves
 * with every message when the stream ends cleanly; rejects with a {@link DockerStreamError} naming `step` and
 * `subject` at the first message carrying `error`/`errorDetail`, at a line that is not JSON, or when the stream
 * itself fails. After a failure the rest of the stream is drained unread, so the connection is released.
 */
export function followProgress(
  stream: NodeJS.ReadableStream,
  step: string,
  subject: string,
  onMessage: (message: ProgressMessage) => void = () => undefined,
): Promise<ProgressMessage[]> {
  return new Promise((resolve, reject) => {
    const messages: ProgressMessage[] = [];
    let pending = '';
    let failed = false;
    const fail = (detail: string): void => {
      if (failed) return;
      failed = true;
      reject(new DockerStreamError(step, subject, detail));
    };
    const handleLine = (line: string): void => {
      if (failed || line.trim() === '') return;
      let message: ProgressMessage;
      try {
        message = JSON.parse(line) as ProgressMessage;
      } catch {
        fail(`unreadable progress line: ${line.slice(0, 200)}`);
        return;
      }
      messages.push(message);
      onMessage(message);
      if (message.errorDetail ?? message.error) {
        fail((message.errorDetail?.message ?? message.error ?? 'unknown error').trim());
      }
    };
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split(/\r?\n/);
      pending = lines.pop() ?? '';
      lines.forEach(handleLine);
    });
    stream.on('end', () => {
      handleLine(pending);
      if (!failed) resolve(messages);
    });
    stream.on('error', (error: Error) => {
      fail(error.message);
    });
  });
}
