/** Time as the agent sees it: injectable so tests can run the token manager on a fake clock. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Random numbers in [0, 1): injectable so jitter is testable. */
export type Random = () => number;

/** `wait.Jitter(d, maxFactor)`: d plus up to d*maxFactor, uniformly. */
export function jitter(ms: number, maxFactor: number, random: Random = Math.random): number {
  return ms + random() * maxFactor * ms;
}

/** Exponential backoff: initial, doubling, capped (the kubelet uses 500 ms → 2 m 2 s for mounts). */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
  ) {}

  /** The delay before the next attempt, and count one more failure. */
  next(): number {
    const d = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    return d;
  }

  get attempts(): number {
    return this.failures;
  }

  reset(): void {
    this.failures = 0;
  }
}
