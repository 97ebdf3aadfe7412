/**
 * One entry of a store's change log, as the memory and SQLite backends keep it: the JSON of the
 * new value stamped with the entry's revision (for a deletion: the last value, stamped with the
 * deletion's revision) and, when known, the JSON of the previous version stamped with its own.
 */
import type { KubeObject } from '@boundtoken/api';
import type { StoreEvent, StoreEventType } from '../store.js';
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
