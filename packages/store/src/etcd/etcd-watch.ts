/**
 * Store watches over etcd, multiplexed on one gRPC watch stream per store.
 *
 * We do not use etcd3's `Watcher`: it resumes from the revision in the last response header,
 * which etcd sets to the store's current revision even when the response carries only the first
 * part of a catch-up — a reconnect at the wrong moment would silently skip events. Here each watch
 * remembers the revision of the last event it delivered (`position`), and every (re)creation asks
 * etcd to start *at* `position` (dropping the events at `position` itself). etcd then cancels the
 * watch with `compact_revision` exactly when `position` is older than its compaction — which is the
 * store contract's condition for ERR_STORE_COMPACTED — and the consumer relists.
 *
 * When the stream breaks (a member died, the connection dropped) every watch is re-created on a
 * new stream, possibly on another member, from its own position: no gap, no duplicate. If no
 * stream can be established for `retryMs`, the watches fail with ERR_STORE_UNAVAILABLE.
 */
import type { IDuplexStream, IEvent, IWatchRequest, IWatchResponse, WatchClient } from 'etcd3';
import type { KubeObject } from '@boundtoken/api';
import { StoreError } from '../store.js';
import type { StoreEvent, Watch, WatchOptions } from '../store.js';
import { decodeValue } from '../internal/codec.js';
import { storeClosed } from '../internal/closed.js';
import type { EtcdKeys, EtcdRange } from './etcd-keys.js';

interface EtcdWatcher {
  range: EtcdRange;
  /** Every change up to this revision has been delivered. */
  position: number;
  options: WatchOptions;
  /** The watch id on the current stream, while created there. */
  id: number | undefined;
  done: boolean;
}

export interface EtcdWatchHubOptions {
  watchClient: WatchClient;
  keys: EtcdKeys;
  /** How long to keep trying to re-establish a broken stream before failing the watches. */
  retryMs: number;
}

export class EtcdWatchHub {
  readonly #client: WatchClient;
  readonly #keys: EtcdKeys;
  readonly #retryMs: number;
  readonly #watchers = new Set<EtcdWatcher>();
  readonly #byId = new Map<number, EtcdWatcher>();
  #stream: IDuplexStream<IWatchRequest, IWatchResponse> | undefined;
  #connecting = false;
  #nextId = 1;
  #brokenSince: number | undefined;
  #backoff = 50;
  #retryTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: EtcdWatchHubOptions) {
    this.#client = options.watchClient;
    this.#keys = options.keys;
    this.#retryMs = options.retryMs;
  }

  /** Watches `range` for changes after `position`. */
  add(range: EtcdRange, position: number, options: WatchOptions): Watch {
    const w: EtcdWatcher = { range, position, options, id: undefined, done: false };
    this.#watchers.add(w);
    if (this.#stream) this.#create(w);
    else this.#connect();
    return { stop: () => this.#stop(w) };
  }

  close(): void {
    this.#closed = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    const stream = this.#stream;
    this.#stream = undefined;
    stream?.cancel();
    this.#failAll(storeClosed());
  }

  #stop(w: EtcdWatcher): void {
    if (w.done) return;
    w.done = true;
    this.#watchers.delete(w);
    if (w.id !== undefined && this.#stream) {
      try {
        this.#stream.write({ cancel_request: { watch_id: w.id } });
      } catch {
        // the stream is going away; the watch goes with it
      }
    }
  }

  #connect(): void {
    if (this.#connecting || this.#stream || this.#closed || this.#retryTimer) return;
    this.#connecting = true;
    this.#client.watch().then(
      (stream) => {
        this.#connecting = false;
        if (this.#closed) {
          stream.cancel();
          return;
        }
        this.#stream = stream;
        stream.on('data', (res) => {
          if (this.#stream === stream) this.#onResponse(res);
        });
        stream.on('error', (err) => this.#onBroken(stream, err));
        stream.on('end', () => this.#onBroken(stream, new Error('the etcd watch stream ended')));
        for (const w of this.#watchers) this.#create(w);
      },
      (err: unknown) => {
        this.#connecting = false;
        this.#onBroken(undefined, err);
      },
    );
  }

  #create(w: EtcdWatcher): void {
    const id = this.#nextId++;
    w.id = id;
    this.#byId.set(id, w);
    this.#stream!.write({
      create_request: {
        key: w.range.key,
        ...(w.range.end ? { range_end: w.range.end } : {}),
        // start *at* the position: etcd refuses it exactly when it is compacted
        start_revision: Math.max(1, w.position),
        prev_kv: true,
        progress_notify: true,
        watch_id: id,
      },
    });
  }

  #onBroken(stream: IDuplexStream<IWatchRequest, IWatchResponse> | undefined, err: unknown): void {
    if (stream !== undefined && this.#stream !== stream) return;
    this.#stream = undefined;
    if (stream) {
      try {
        stream.cancel();
      } catch {
        // already gone
      }
    }
    this.#byId.clear();
    for (const w of this.#watchers) w.id = undefined;
    if (this.#closed || this.#watchers.size === 0) return;
    const now = Date.now();
    this.#brokenSince ??= now;
    if (now - this.#brokenSince >= this.#retryMs) {
      this.#brokenSince = undefined;
      this.#backoff = 50;
      const message = err instanceof Error ? err.message : String(err);
      this.#failAll(new StoreError('ERR_STORE_UNAVAILABLE', `the etcd watch stream is down: ${message}`, { cause: err }));
      return;
    }
    const delay = this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, 1000);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#connect();
    }, delay);
  }

  #onResponse(res: IWatchResponse): void {
    const w = this.#byId.get(Number(res.watch_id));
    if (!w) return;
    if (res.canceled) {
      this.#byId.delete(Number(res.watch_id));
      if (w.done || w.id !== Number(res.watch_id)) return;
      this.#watchers.delete(w);
      const compacted = Number(res.compact_revision);
      if (compacted > 0) {
        this.#fail(
          w,
          new StoreError('ERR_STORE_COMPACTED', `watch position ${w.position} is older than the compacted revision ${compacted}`, {
            revision: compacted,
          }),
        );
      } else {
        this.#fail(w, new StoreError('ERR_STORE_UNAVAILABLE', `etcd cancelled the watch: ${res.cancel_reason || 'no reason given'}`));
      }
      return;
    }
    if (w.done) return;
    // the stream works: reset the failure clock
    this.#brokenSince = undefined;
    this.#backoff = 50;
    const header = Number(res.header.revision);
    if (res.created) {
      // nothing to catch up: the watch is live at its position
      if (header === w.position) this.#progress(w, header);
      return;
    }
    if (res.events.length === 0) {
      // a progress notification (etcd sends them only to watchers that are in sync)
      if (header > w.position) {
        w.position = header;
        this.#progress(w, header);
      }
      return;
    }
    for (const ev of res.events) {
      if (w.done) return;
      const revision = Number(ev.kv.mod_revision);
      if (revision <= w.position) continue;
      let event: StoreEvent;
      try {
        event = this.#toEvent(ev, revision);
      } catch (err) {
        this.#stop(w);
        this.#fail(w, err as StoreError, true);
        return;
      }
      w.position = revision;
      this.#deliver(w, () => w.options.onEvent(event));
    }
  }

  #toEvent(ev: IEvent, revision: number): StoreEvent {
    const key = this.#keys.fromEtcd(ev.kv.key);
    const decode = (buf: Buffer, rev: number): KubeObject => {
      try {
        return decodeValue<KubeObject>(buf.toString('utf8'), rev);
      } catch (err) {
        throw new StoreError('ERR_STORE_UNAVAILABLE', `the value of ${key} in etcd is not JSON`, { key, cause: err });
      }
    };
    const prev = ev.prev_kv ? decode(ev.prev_kv.value, Number(ev.prev_kv.mod_revision)) : undefined;
    if (ev.type === 'Delete') {
      // the deleted value comes from prev_kv; without it (history compacted under us) the
      // consumer cannot be told what went away, so it must relist
      if (!ev.prev_kv) {
        throw new StoreError('ERR_STORE_COMPACTED', `etcd no longer has the value deleted at revision ${revision}`, {
          key,
          revision,
        });
      }
      return { type: 'DELETED', key, value: decode(ev.prev_kv.value, revision), revision, prevValue: prev! };
    }
    const value = decode(ev.kv.value, revision);
    if (ev.kv.create_revision === ev.kv.mod_revision) return { type: 'ADDED', key, value, revision };
    return prev ? { type: 'MODIFIED', key, value, revision, prevValue: prev } : { type: 'MODIFIED', key, value, revision };
  }

  #progress(w: EtcdWatcher, revision: number): void {
    const onProgress = w.options.onProgress;
    if (onProgress) this.#deliver(w, () => onProgress(revision));
  }

  /** Calls a consumer callback; one that throws ends its own watch and surfaces like a listener's. */
  #deliver(w: EtcdWatcher, call: () => void): void {
    try {
      call();
    } catch (err) {
      this.#stop(w);
      queueMicrotask(() => {
        throw err;
      });
    }
  }

  #failAll(err: StoreError): void {
    const watchers = [...this.#watchers];
    this.#watchers.clear();
    this.#byId.clear();
    for (const w of watchers) this.#fail(w, err);
  }

  #fail(w: EtcdWatcher, err: StoreError, force = false): void {
    if (w.done && !force) return;
    w.done = true;
    try {
      w.options.onError(err);
    } catch (thrown) {
      queueMicrotask(() => {
        throw thrown;
      });
    }
  }
}
