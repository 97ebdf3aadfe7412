/**
 * One entry of a store's change log, as the memory and SQLite backends keep it: the JSON of the
 * new value stamped with the entry's revision (for a deletion: the last value, stamped with the
 * deletion's revision) and, when known, the JSON of the previous version stamped with its own.
 * Also what the two backends share about reading a log kept in revision order.
 */
import type { KubeObject } from '@boundtoken/api';
import { StoreError, type StoreEvent, type StoreEventType } from '../store.js';
import { decodeValue } from './codec.js';

export interface LogRecord {
  revision: number;
  key: string;
  type: StoreEventType;
  json: string;
  prevJson?: string | undefined;
}

/** A fresh event (fresh objects) for one watcher. */
export function toEvent(record: LogRecord): StoreEvent {
  const event: StoreEvent = {
    type: record.type,
    key: record.key,
    value: decodeValue<KubeObject>(record.json),
    revision: record.revision,
  };
  if (record.prevJson !== undefined) event.prevValue = decodeValue<KubeObject>(record.prevJson);
  return event;
}

/** Index of the first record with revision > `revision` in records sorted by revision (from `from`). */
export function firstAfter(records: readonly LogRecord[], revision: number, from = 0): number {
  let lo = from;
  let hi = records.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (records[mid]!.revision <= revision) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Up to `limit` records of an in-memory log (sorted by revision, read from index `from`) with
 * `after < revision <= upTo` and a key starting with `prefix`: a LogSource read.
 */
export function readRecords(records: readonly LogRecord[], after: number, upTo: number, prefix: string, limit: number, from = 0): LogRecord[] {
  const out: LogRecord[] = [];
  for (let i = firstAfter(records, after, from); i < records.length && out.length < limit; i++) {
    const record = records[i]!;
    if (record.revision > upTo) break;
    if (record.key.startsWith(prefix)) out.push(record);
  }
  return out;
}

/** A revision past the newest one: ERR_STORE_FUTURE_REVISION. */
export function assertNotFuture(revision: number, newest: number): void {
  if (revision > newest) {
    throw new StoreError('ERR_STORE_FUTURE_REVISION', `revision ${revision} is newer than the store (${newest})`, { revision: newest });
  }
}

/** A read at `revision` of a log holding (compacted, newest]: ERR_STORE_FUTURE_REVISION or ERR_STORE_COMPACTED. */
export function assertReadable(revision: number, newest: number, compacted: number): void {
  assertNotFuture(revision, newest);
  if (revision < compacted) {
    throw new StoreError('ERR_STORE_COMPACTED', `revision ${revision} has been compacted (oldest readable: ${compacted})`, {
      revision: compacted,
    });
  }
}
