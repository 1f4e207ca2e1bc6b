/**
 * One push at a time per app: a push to an app waits until the pushes to it that came first have ended, deploy
 * included, so each one sees the refs the previous one left. Pushes to different apps do not wait for each other.
 */
export class PushTurns {
  private readonly tails = new Map<string, Promise<void>>();

  /** Whether a push to `app` is running or waiting now. */
  busy(app: string): boolean {
    return this.tails.has(app);
  }

  /**
   * Waits for the turn of a push to `app` and resolves with the function that ends it. The turn must be ended
   * exactly once, whatever happens to the push; ending it twice does nothing.
   */
  async take(app: string): Promise<() => void> {
    const previous = this.tails.get(app) ?? Promise.resolve();
    let end: () => void = () => undefined;
    const ended = new Promise<void>((resolve) => {
      end = resolve;
    });
    const tail = previous.then(() => ended);
    this.tails.set(app, tail);
    void tail.then(() => {
      if (this.tails.get(app) === tail) this.tails.delete(app);
    });
    await previous;
    return end;
  }
}
