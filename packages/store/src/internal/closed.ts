/** What every backend answers once it is closed. */
import { StoreError, type Watch, type WatchOptions } from '../store.js';

export function storeClosed(): StoreError {
  return new StoreError('ERR_STORE_CLOSED', 'the store is closed');
}

/** A watch asked of a closed store: it fails on the next turn (never inside `watch()`). */
export function closedWatch(options: WatchOptions): Watch {
  const err = storeClosed();
  setImmediate(() => options.onError(err));
  return { stop() {} };
}
