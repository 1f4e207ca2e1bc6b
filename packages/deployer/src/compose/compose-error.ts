/**
 * A compose file the deployer cannot use: none found, not YAML, a missing variable, or not the shape a stack
 * needs. The message names the file (`file`, when there is one) and the place in it.
 */
export class ComposeError extends Error {
  readonly file: string | undefined;

  constructor(message: string, options: { file?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'ComposeError';
    this.file = options.file;
  }
}
