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
export { createMemoryStore } from './memory/memory-store.js';
export type { MemoryStoreOptions } from './memory/memory-store.js';
export { openSqliteStore } from './sqlite/sqlite-store.js';
export type { SqliteStoreOptions } from './sqlite/sqlite-store.js';
export { openEtcdStore } from './etcd/etcd-store.js';
export type { EtcdStoreOptions } from './etcd/etcd-store.js';
