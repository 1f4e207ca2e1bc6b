import { Writable } from 'node:stream';
import { ConfigError, createLogger, type Logger } from '@swarmlet/common';

/** Runs `run` and returns the {@link ConfigError} it throws; fails when it throws nothing or something else. */
export function thrownConfigError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

/** A writable that keeps the JSON lines written to it (a pino destination), and the raw text. */
export function captureJsonLines(): { stream: Writable; text: () => string; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const text = (): string => chunks.join('');
  return {
    stream,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/** A logger named `name` whose JSON lines are kept for the test to read. */
export function captureLogger(name: string): {
  log: Logger;
  text: () => string;
  lines: () => Record<string, unknown>[];
} {
  const capture = captureJsonLines();
  return { log: createLogger({ name, destination: capture.stream }), text: capture.text, lines: capture.lines };
}
