import { ConfigError } from './config.js';

/**
 * Runs a command's `main` and sets the process exit code from its result. A rejection is printed as one line
 * prefixed with the program's name (a {@link ConfigError} as its message, which names the setting) and exits 1.
 */
export function runMain(program: string, main: (argv: string[]) => Promise<number>): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      const text = error instanceof ConfigError || error instanceof Error ? error.message : String(error);
      process.stderr.write(`${program}: ${text}\n`);
      process.exitCode = 1;
    },
  );
}

/** Resolves with the first SIGINT or SIGTERM the process receives. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** The whole of standard input as UTF-8 text, once it ends. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
