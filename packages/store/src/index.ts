export { StoreError, isStoreError } from './store.js';
export type {
  Store,
  StoreErrorCode,
  StoreEvent,
  StoreEventType,
  Versioned,
  ListOptions,
  ListResult,
  Watch,
  WatchOptions,
} from './store.js';
