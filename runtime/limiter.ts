/**
 * At most `limit` tasks at once; the rest wait in arrival order. Keeps a handoff of tens of
 * thousands of snapshot writes from flooding the event loop and the store at once, so that
 * lease renewals and live traffic still get through.
 */
export class Limiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}
