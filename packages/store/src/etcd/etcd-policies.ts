/**
 * Fault-handling policies for the etcd3 client (which expects cockatiel policies; these are small
 * structural equivalents, so the store does not depend on cockatiel itself).
 *
 *  - global `runOnce`: etcd3 would retry failed calls, writes included, and a timed-out
 *    compare-and-swap replayed after it was applied fails against itself. Each call runs once;
 *    the store decides what is safe to retry (etcd-errors.ts).
 *  - per member `memberBreaker`: after a few consecutive transport failures a member is skipped
 *    for a moment (calls go to the others straight away), then one call may try it again. The
 *    pause is short (1 s), so a restarted member is used again quickly.
 */
import { isRecoverableError } from 'etcd3';
import type { IOptions } from 'etcd3';

type FaultHandling = NonNullable<IOptions['faultHandling']>;
type GlobalPolicy = NonNullable<FaultHandling['global']>;
type HostPolicy = ReturnType<NonNullable<FaultHandling['host']>>;

/** Thrown instead of calling a member whose breaker is open; etcd3 then tries the next member. */
export class MemberSkippedError extends Error {
  readonly isBrokenCircuitError = true;
  constructor() {
    super('etcd member skipped after repeated failures');
    this.name = 'MemberSkippedError';
  }
}

const noEvent = () => ({ dispose() {} });

export function runOnce(): GlobalPolicy {
  const policy = {
    onSuccess: noEvent,
    onFailure: noEvent,
    execute: async <T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T, signal?: AbortSignal) =>
      fn({ signal: signal ?? new AbortController().signal }),
  };
  return policy as unknown as GlobalPolicy;
}

export function memberBreaker(threshold = 3, openMs = 1000): HostPolicy {
  let failures = 0;
  let openUntil = 0;
  let probing = false;
  const policy = {
    onSuccess: noEvent,
    onFailure: noEvent,
    async execute<T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> {
      if (failures >= threshold) {
        if (Date.now() < openUntil || probing) throw new MemberSkippedError();
        probing = true;
      }
      try {
        const result = await fn({ signal: signal ?? new AbortController().signal });
        failures = 0;
        return result;
      } catch (err) {
        if (err instanceof Error && isRecoverableError(err)) {
          failures++;
          if (failures >= threshold) openUntil = Date.now() + openMs;
        }
        throw err;
      } finally {
        probing = false;
      }
    },
  };
  return policy as unknown as HostPolicy;
}
