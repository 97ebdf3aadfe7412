/**
 * A controller work queue: keys are deduplicated while waiting, one key is never processed twice
 * at once, failures are retried with exponential backoff.
 */
export type Reconcile = (key: string) => Promise<void>;

export class WorkQueue {
  private readonly waiting = new Set<string>();
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly order: string[] = [];
  private active = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly reconcile: Reconcile,
    private readonly opts: { concurrency?: number; maxBackoffMs?: number; onError?: (key: string, err: unknown) => void } = {},
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.waiting.has(key)) return;
    this.waiting.add(key);
    this.order.push(key);
    this.pump();
  }

  addAfter(key: string, ms: number): void {
    setTimeout(() => this.add(key), ms).unref();
  }

  stop(): void {
    this.stopped = true;
  }

  /** Resolves when nothing is waiting or running (for tests). */
  idle(): Promise<void> {
    if (this.active === 0 && this.order.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    const limit = this.opts.concurrency ?? 1;
    while (!this.stopped && this.active < limit && this.order.length > 0) {
      const key = this.order.shift()!;
      this.waiting.delete(key);
      this.running.add(key);
      this.active++;
      void this.run(key);
    }
    if (this.active === 0 && this.order.length === 0) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async run(key: string): Promise<void> {
    try {
      await this.reconcile(key);
      this.failures.delete(key);
    } catch (err) {
      // a reconcile that was in flight when the queue stopped fails because the server is
      // shutting down (its store closed): nothing to report or retry
      if (this.stopped) return;
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      this.opts.onError?.(key, err);
      const delay = Math.min(5 * 2 ** n, this.opts.maxBackoffMs ?? 30_000);
      this.addAfter(key, delay);
    } finally {
      this.running.delete(key);
      this.active--;
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }
}
