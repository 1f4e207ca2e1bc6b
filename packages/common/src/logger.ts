import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Object paths whose values never reach a log line. pino's redaction matches exact paths (one `*` per segment),
 * so each secret-bearing key is listed at the depths where our code logs it.
 */
export const REDACTED_PATHS: readonly string[] = [
  'password',
  'token',
  'secret',
  'authorization',
  '*.password',
  '*.token',
  '*.secret',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'auth.password',
  'config.auth',
];

/** Options for {@link createLogger}. */
export interface CreateLoggerOptions {
  /** The component name carried by every line (`registry`, `deployer`, …). */
  name: string;
  /** pino level; defaults to `info`. */
  level?: LoggerOptions['level'];
  /** Pretty, human-readable output. Defaults to true when standard output is a TTY, JSON otherwise. */
  pretty?: boolean;
  /** Where lines go; defaults to standard output. When given, output is always JSON. */
  destination?: DestinationStream;
}

/**
 * Creates the pino logger every Swarmlet process uses: JSON lines when not on a TTY (or when a destination is
 * given), pino-pretty on a TTY, and every path of {@link REDACTED_PATHS} replaced by `[redacted]`.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const base: LoggerOptions = {
    name: options.name,
    level: options.level ?? 'info',
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
  };
  if (options.destination) return pino(base, options.destination);
  const pretty = options.pretty ?? process.stdout.isTTY;
  if (pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  return pino(base);
}
