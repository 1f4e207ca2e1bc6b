/**
 * Fixed-size buffers handed out again once returned, so streaming a file out allocates nothing in the steady
 * state: no garbage for the collector and no fresh pages for the kernel to zero. At most `keep` idle buffers are
 * held; a buffer that is never returned (its write failed) is simply collected.
 */
export class BufferPool {
  private readonly idle: Buffer[] = [];

  constructor(
    /** The size of every buffer. */
    readonly size: number,
    private readonly keep: number,
  ) {}

  /** An idle buffer, or a new one. Its content is whatever it last held. */
  take(): Buffer {
    return this.idle.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  /** Returns a buffer that nothing reads or writes any more. */
  give(buffer: Buffer): void {
    if (buffer.length === this.size && this.idle.length < this.keep) this.idle.push(buffer);
  }
}
