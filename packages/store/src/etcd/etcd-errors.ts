/**
 * etcd and gRPC failures as store errors, and which of them may be retried.
 *
 * A read can be retried on any member after any transport failure. A write only when it surely
 * never reached etcd (no connection could be made, or the member's circuit breaker is open):
 * after a timeout or a dropped connection it may have been applied, and replaying a
 * compare-and-swap would then report a conflict with itself. Such writes fail with
 * ERR_STORE_UNAVAILABLE / ERR_STORE_TIMEOUT and the caller decides (the API answers 503/504).
 */
import { StoreError } from '../store.js';

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isBrokenCircuit(err: unknown): boolean {
  return err instanceof Error && 'isBrokenCircuitError' in err;
}

/** True when the request cannot have reached etcd. */
function neverSent(err: unknown): boolean {
  if (isBrokenCircuit(err)) return true;
  const m = message(err);
  return m.includes('No connection established') || m.includes('ECONNREFUSED');
}

function transient(err: unknown): boolean {
  if (neverSent(err)) return true;
  const name = err instanceof Error ? err.constructor.name : '';
  if (name === 'GRPCUnavailableError' || name === 'GRPCInternalError' || name === 'GRPCUnknownError') return true;
  const m = message(err);
  return (
    m.includes('etcdserver: no leader') ||
    m.includes('etcdserver: leader changed') ||
    m.includes('etcdserver: request timed out') ||
    m.includes('etcdserver: too many requests')
  );
}

export function retryable(err: unknown, kind: 'read' | 'write'): boolean {
  return kind === 'read' ? transient(err) : neverSent(err);
}

export function toStoreError(err: unknown, what: string, closed: boolean): StoreError {
  if (err instanceof StoreError) return err;
  if (closed || (err instanceof Error && err.constructor.name === 'ClientClosedError')) {
    return new StoreError('ERR_STORE_CLOSED', 'the store is closed', { cause: err });
  }
  const m = message(err);
  if (m.includes('required revision has been compacted')) {
    return new StoreError('ERR_STORE_COMPACTED', `${what}: the revision has been compacted`, { cause: err });
  }
  if (m.includes('required revision is a future revision')) {
    return new StoreError('ERR_STORE_FUTURE_REVISION', `${what}: the revision is newer than the store`, { cause: err });
  }
  const name = err instanceof Error ? err.constructor.name : '';
  if (name === 'GRPCDeadlineExceededError' || m.includes('DEADLINE_EXCEEDED') || m.includes('request timed out')) {
    return new StoreError('ERR_STORE_TIMEOUT', `${what}: etcd did not answer in time (${m})`, { cause: err });
  }
  return new StoreError('ERR_STORE_UNAVAILABLE', `${what}: etcd is unavailable (${m})`, { cause: err });
}
