/**
 * The etcd backend (client: etcd3; tested against Debian's etcd 3.4), for several server replicas
 * sharing one state, as kube-apiserver does.
 *
 * `resourceVersion` is etcd's revision (a key's mod_revision). Values are stored as JSON without
 * `metadata.resourceVersion`, which is stamped on the way out. Every write is one transaction:
 * create = "create_revision == 0", update/delete = "mod_revision == expected" (or, without an
 * expected revision, "version > 0": the key must exist), so conflicting writers cannot both win.
 *
 * Every call has a deadline. Reads are retried on another member after transport failures;
 * writes only when they cannot have reached etcd (see etcd-errors.ts). etcd failures never throw
 * anything but a StoreError and never crash the process.
 */
import { Etcd3 } from 'etcd3';
import type { IResponseHeader, KVClient } from 'etcd3';
import type { KubeObject } from '@boundtoken/api';
import { StoreError } from '../store.js';
import type { ListOptions, ListResult, Store, Versioned, Watch, WatchOptions } from '../store.js';
import { decodeValue, encodeValue } from '../internal/codec.js';
import {
  assertExpectedRevision,
  assertKey,
  assertListOptions,
  assertPrefix,
  assertRevision,
  assertValue,
} from '../internal/validate.js';
import { closedWatch, storeClosed } from '../internal/closed.js';
import { retryable, toStoreError } from './etcd-errors.js';
import { memberBreaker, runOnce } from './etcd-policies.js';
import { EtcdKeys } from './etcd-keys.js';
import { EtcdWatchHub } from './etcd-watch.js';

export interface EtcdStoreOptions {
  /** Client URLs of the etcd members (`http://127.0.0.1:2379`, `https://…`); the client fails over between them. */
  endpoints: string[];
  /** Where the store's `/registry/` root lives in etcd (default `/registry`, kube-apiserver's layout). */
  prefix?: string;
  /** TLS material (PEM): the CA that signed the members' certificates, and a client certificate and key. */
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
  /** Deadline of every call, retries included (default 10000 ms). */
  requestTimeoutMs?: number;
  /** Deadline of `ping()` (default 2000 ms). */
  pingTimeoutMs?: number;
  /** How long a broken watch stream is retried before watches fail with ERR_STORE_UNAVAILABLE (default 30000 ms). */
  watchRetryMs?: number;
}

type CallOptions = NonNullable<Parameters<KVClient['range']>[1]>;
function pem(v: string | Buffer | undefined): Buffer | undefined {
  return v === undefined ? undefined : Buffer.isBuffer(v) ? v : Buffer.from(v);
}

export async function openEtcdStore(options: EtcdStoreOptions): Promise<Store> {
  if (typeof options !== 'object' || options === null) throw new TypeError('openEtcdStore needs options');
  const { endpoints, prefix = '/registry', tls } = options;
  if (!Array.isArray(endpoints) || endpoints.length === 0) throw new TypeError('etcd endpoints must be a non-empty array');
  for (const e of endpoints) {
    if (typeof e !== 'string' || !/^https?:\/\/[^/]+\/?$/.test(e)) {
      throw new TypeError(`etcd endpoint must be http(s)://host:port (got ${String(e)})`);
    }
  }
  const secure = endpoints.filter((e) => e.startsWith('https:')).length;
  if (secure !== 0 && secure !== endpoints.length) throw new TypeError('etcd endpoints must be all http or all https');
  if (typeof prefix !== 'string' || (prefix !== '' && !prefix.startsWith('/'))) {
    throw new TypeError('etcd prefix must be empty or start with /');
  }
  const timing = {
    requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    pingTimeoutMs: options.pingTimeoutMs ?? 2000,
    watchRetryMs: options.watchRetryMs ?? 30_000,
  };
  for (const [name, v] of Object.entries(timing)) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new TypeError(`${name} must be a positive integer`);
  }
  const ca = pem(tls?.ca);
  const cert = pem(tls?.cert);
  const key = pem(tls?.key);
  if ((cert === undefined) !== (key === undefined)) throw new TypeError('etcd TLS needs both a client certificate and its key');
  if (tls && secure === 0) throw new TypeError('etcd TLS options need https:// endpoints');

  const client = new Etcd3({
    hosts: endpoints.map((e) => e.replace(/\/$/, '')),
    ...(secure > 0
      ? {
          credentials: {
            // without a CA, the system's roots verify the members
            rootCertificate: ca ?? (undefined as unknown as Buffer),
            ...(key ? { privateKey: key, certChain: cert! } : {}),
          },
        }
      : {}),
    faultHandling: { global: runOnce(), host: () => memberBreaker() },
    grpcOptions: {
      'grpc.max_receive_message_length': 2 ** 31 - 1,
      'grpc.max_send_message_length': 2 ** 31 - 1,
      // notice a member that stopped answering on an idle watch stream (etcd allows pings every 5 s)
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5000,
    },
  });
  return new EtcdStore(client, new EtcdKeys(prefix), timing);
}

class EtcdStore implements Store {
  readonly backend = 'etcd';
  readonly #client: Etcd3;
  readonly #keys: EtcdKeys;
  readonly #requestTimeoutMs: number;
  readonly #pingTimeoutMs: number;
  readonly #watches: EtcdWatchHub;
  /** The newest revision this client has seen in any answer ("now" for watches without a start). */
  #seen = 0;
  /**
   * While a watch without a start revision asks etcd what "now" is, writes wait: a write issued
   * after `watch()` returned must land after the watch's start.
   */
  #resolvingNow: Promise<unknown> | undefined;
  /** A revision known to be compacted at or below (only grows). */
  #compactedAtLeast = 0;
  #closed = false;

  constructor(client: Etcd3, keys: EtcdKeys, timing: { requestTimeoutMs: number; pingTimeoutMs: number; watchRetryMs: number }) {
    this.#client = client;
    this.#keys = keys;
    this.#requestTimeoutMs = timing.requestTimeoutMs;
    this.#pingTimeoutMs = timing.pingTimeoutMs;
    this.#watches = new EtcdWatchHub({ watchClient: client.watchClient, keys, retryMs: timing.watchRetryMs });
  }

  async currentRevision(): Promise<number> {
    return this.#probe(undefined, this.#requestTimeoutMs);
  }

  async get<T extends KubeObject = KubeObject>(key: string): Promise<Versioned<T> | undefined> {
    assertKey(key);
    const etcdKey = Buffer.from(this.#keys.toEtcd(key));
    const res = await this.#call('read', `get ${key}`, (o) => this.#client.kv.range({ key: etcdKey }, o));
    const kv = res.kvs[0];
    if (!kv) return undefined;
    const revision = Number(kv.mod_revision);
    return { key, value: this.#decode<T>(key, kv.value, revision), revision };
  }

  async list<T extends KubeObject = KubeObject>(prefix: string, options: ListOptions = {}): Promise<ListResult<T>> {
    assertPrefix(prefix);
    assertListOptions(options);
    const range = this.#keys.listRange(prefix, options.startAfter);
    const limit = options.limit || 0;
    if (!range) {
      const revision = options.revision ?? (await this.currentRevision());
      return { items: [], revision, more: false };
    }
    if (options.revision === 0) {
      // etcd reads "revision 0" as "now"; the store contract means the empty beginning
      if (!(await this.#readableAt(1))) throw new StoreError('ERR_STORE_COMPACTED', 'revision 0 has been compacted');
      return { items: [], revision: 0, more: false };
    }
    const res = await this.#call('read', `list ${prefix}`, (o) =>
      this.#client.kv.range(
        {
          key: range.key,
          range_end: range.end,
          ...(limit > 0 ? { limit } : {}),
          ...(options.revision !== undefined ? { revision: options.revision } : {}),
        },
        o,
      ),
    );
    const items: Versioned<T>[] = [];
    for (const kv of res.kvs) {
      const key = this.#keys.fromEtcd(kv.key);
      if (!key.startsWith(prefix)) continue;
      const revision = Number(kv.mod_revision);
      items.push({ key, value: this.#decode<T>(key, kv.value, revision), revision });
    }
    const revision = options.revision ?? Number(res.header.revision);
    if (!res.more) return { items, revision, more: false };
    return { items, revision, more: true, remaining: Math.max(0, Number(res.count) - res.kvs.length) };
  }

  async create<T extends KubeObject>(key: string, value: T): Promise<Versioned<T>> {
    assertKey(key);
    assertValue(value);
    const etcdKey = Buffer.from(this.#keys.toEtcd(key));
    const json = encodeValue(value, undefined);
    const res = await this.#call('write', `create ${key}`, (o) =>
      this.#client.kv.txn(
        {
          compare: [{ key: etcdKey, target: 'Create', result: 'Equal', create_revision: 0 }],
          success: [{ request_put: { key: etcdKey, value: Buffer.from(json) } }],
          failure: [{ request_range: { key: etcdKey, keys_only: true } }],
        },
        o,
      ),
    );
    if (!res.succeeded) {
      const existing = res.responses[0]?.response_range?.kvs[0];
      throw new StoreError('ERR_STORE_EXISTS', `key ${key} already exists`, {
        key,
        ...(existing ? { revision: Number(existing.mod_revision) } : {}),
      });
    }
    const revision = Number(res.header.revision);
    return { key, value: decodeValue<T>(json, revision), revision };
  }

  async update<T extends KubeObject>(key: string, value: T, expectedRevision?: number): Promise<Versioned<T>> {
    assertKey(key);
    assertValue(value);
    assertExpectedRevision(expectedRevision);
    const etcdKey = Buffer.from(this.#keys.toEtcd(key));
    const json = encodeValue(value, undefined);
    const res = await this.#call('write', `update ${key}`, (o) =>
      this.#client.kv.txn(
        {
          compare: [this.#precondition(etcdKey, expectedRevision)],
          success: [{ request_put: { key: etcdKey, value: Buffer.from(json) } }],
          failure: [{ request_range: { key: etcdKey, keys_only: true } }],
        },
        o,
      ),
    );
    if (!res.succeeded) throw this.#preconditionFailed(key, expectedRevision, res.responses[0]?.response_range?.kvs[0]);
    const revision = Number(res.header.revision);
    return { key, value: decodeValue<T>(json, revision), revision };
  }

  async delete<T extends KubeObject = KubeObject>(key: string, expectedRevision?: number): Promise<Versioned<T>> {
    assertKey(key);
    assertExpectedRevision(expectedRevision);
    const etcdKey = Buffer.from(this.#keys.toEtcd(key));
    const res = await this.#call('write', `delete ${key}`, (o) =>
      this.#client.kv.txn(
        {
          compare: [this.#precondition(etcdKey, expectedRevision)],
          success: [{ request_delete_range: { key: etcdKey, prev_kv: true } }],
          failure: [{ request_range: { key: etcdKey, keys_only: true } }],
        },
        o,
      ),
    );
    if (!res.succeeded) throw this.#preconditionFailed(key, expectedRevision, res.responses[0]?.response_range?.kvs[0]);
    const prev = res.responses[0]?.response_delete_range?.prev_kvs[0];
    const revision = Number(res.header.revision);
    if (!prev) throw new StoreError('ERR_STORE_UNAVAILABLE', `etcd deleted ${key} without returning its value`, { key });
    return { key, value: this.#decode<T>(key, prev.value, revision), revision };
  }

  watch(prefix: string, options: WatchOptions): Watch {
    assertPrefix(prefix);
    if (options.afterRevision !== undefined) assertRevision(options.afterRevision, 'afterRevision');
    const range = this.#keys.prefixRange(prefix);
    if (this.#closed) return closedWatch(options);
    const filtered: WatchOptions = {
      ...options,
      // the etcd range may be wider than the prefix (prefixes that are not a path segment)
      onEvent: (event) => {
        if (event.key.startsWith(prefix)) options.onEvent(event);
      },
    };
    if (options.afterRevision !== undefined) return this.#watches.add(range, options.afterRevision, filtered);
    if (this.#seen > 0) return this.#watches.add(range, this.#seen, filtered);
    // nothing seen yet: "now" is the current revision, once etcd tells us
    let inner: Watch | undefined;
    let stopped = false;
    const resolving = this.currentRevision().then(
      (revision) => {
        if (!stopped) inner = this.#watches.add(range, revision, filtered);
      },
      (err: StoreError) => {
        if (!stopped) options.onError(err);
      },
    );
    const barrier = (this.#resolvingNow = Promise.all([this.#resolvingNow, resolving])
      .catch(() => {})
      .finally(() => {
        if (this.#resolvingNow === barrier) this.#resolvingNow = undefined;
      }));
    return {
      stop() {
        stopped = true;
        inner?.stop();
      },
    };
  }

  async compact(revision: number): Promise<void> {
    assertRevision(revision, 'revision');
    if (revision === 0) return;
    try {
      await this.#call('read', `compact ${revision}`, (o) => this.#client.kv.compact({ revision, physical: false }, o));
    } catch (err) {
      // compacting to where etcd already is (or was) is done
      if (!(err instanceof StoreError && err.code === 'ERR_STORE_COMPACTED')) throw err;
    }
    this.#compactedAtLeast = Math.max(this.#compactedAtLeast, revision);
  }

  /**
   * etcd does not report its compaction revision directly; reads at a revision fail exactly when
   * it is older, so a binary search over revisions finds it (a few cheap count-only reads).
   */
  async compactedRevision(): Promise<number> {
    const current = await this.currentRevision();
    let low = this.#compactedAtLeast;
    if (await this.#readableAt(Math.max(1, low))) return low;
    // invariant: `low` is not readable, `high` is
    let high = current;
    while (high - low > 1) {
      const mid = low + Math.floor((high - low) / 2);
      if (await this.#readableAt(mid)) high = mid;
      else low = mid;
    }
    this.#compactedAtLeast = Math.max(this.#compactedAtLeast, high);
    return high;
  }

  async ping(): Promise<void> {
    try {
      await this.#probe(undefined, this.#pingTimeoutMs);
    } catch (err) {
      const e = err as StoreError;
      if (e.code === 'ERR_STORE_CLOSED' || e.code === 'ERR_STORE_UNAVAILABLE') throw e;
      throw new StoreError('ERR_STORE_UNAVAILABLE', e.message, { cause: e });
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watches.close();
    this.#client.close();
  }

  #precondition(etcdKey: Buffer, expectedRevision: number | undefined) {
    return expectedRevision === undefined
      ? { key: etcdKey, target: 'Version' as const, result: 'Greater' as const, version: 0 }
      : { key: etcdKey, target: 'Mod' as const, result: 'Equal' as const, mod_revision: expectedRevision };
  }

  #preconditionFailed(key: string, expectedRevision: number | undefined, current: { mod_revision: string } | undefined): StoreError {
    if (!current) return new StoreError('ERR_STORE_NOT_FOUND', `key ${key} not found`, { key });
    const revision = Number(current.mod_revision);
    return new StoreError('ERR_STORE_CONFLICT', `key ${key} is at revision ${revision}, not ${expectedRevision}`, { key, revision });
  }

  /** A count-only read of one key: the store's revision (at `revision`, when given), proving etcd answers. */
  async #probe(revision: number | undefined, timeoutMs: number): Promise<number> {
    const res = await this.#call(
      'read',
      'read the revision',
      (o) => this.#client.kv.range({ key: Buffer.from(this.#keys.base), count_only: true, ...(revision ? { revision } : {}) }, o),
      timeoutMs,
    );
    return Number(res.header.revision);
  }

  async #readableAt(revision: number): Promise<boolean> {
    try {
      await this.#probe(revision, this.#requestTimeoutMs);
      return true;
    } catch (err) {
      if (err instanceof StoreError && err.code === 'ERR_STORE_COMPACTED') return false;
      throw err;
    }
  }

  #decode<T extends KubeObject>(key: string, value: Buffer, revision: number): T {
    try {
      return decodeValue<T>(value.toString('utf8'), revision);
    } catch (err) {
      throw new StoreError('ERR_STORE_UNAVAILABLE', `the value of ${key} in etcd is not JSON`, { key, cause: err });
    }
  }

  /** Runs one etcd call under a deadline, retrying what is safe to retry, mapping every failure. */
  async #call<R extends { header: IResponseHeader }>(
    kind: 'read' | 'write',
    what: string,
    fn: (options: CallOptions) => Promise<R>,
    timeoutMs = this.#requestTimeoutMs,
  ): Promise<R> {
    if (this.#closed) throw storeClosed();
    if (kind === 'write' && this.#resolvingNow) await this.#resolvingNow;
    const deadline = Date.now() + timeoutMs;
    let backoff = 25;
    for (;;) {
      try {
        const res = await fn({ deadline });
        const revision = Number(res.header.revision);
        if (revision > this.#seen) this.#seen = revision;
        return res;
      } catch (err) {
        if (!this.#closed && retryable(err, kind) && Date.now() + backoff < deadline) {
          await new Promise((resolve) => setTimeout(resolve, backoff));
          backoff = Math.min(backoff * 2, 400);
          continue;
        }
        throw toStoreError(err, `etcd ${what}`, this.#closed);
      }
    }
  }
}
