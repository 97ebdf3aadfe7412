/**
 * autocannon, the closed-loop HTTP load generator of the benches. It has no type declarations:
 * these are the little of its API the benches use, and it is imported by a name TypeScript does
 * not resolve.
 */
export interface AutocannonOptions {
  url: string;
  connections: number;
  pipelining: number;
  /** Seconds to run, or… */
  duration?: number;
  /** …how many answers to wait for. */
  amount?: number;
  headers?: Record<string, string>;
  /** TLS options of every connection (CA, client certificate). */
  tlsOptions?: object;
  /** Request templates; `setupRequest` may set each request's body. */
  requests?: object[];
}

export interface AutocannonResult {
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  requests: { average: number };
}

export type AutocannonRun = Promise<AutocannonResult> & { on(event: 'response', listener: () => void): void };

const MODULE = 'autocannon';

/** autocannon's entry point. */
export async function loadAutocannon(): Promise<(opts: AutocannonOptions) => AutocannonRun> {
  return ((await import(MODULE)) as { default: (opts: AutocannonOptions) => AutocannonRun }).default;
}
