/**
 * Feeds every informer cache of the server from one store watch on the common root prefix
 * (`/registry/`), after listing every resource at one revision.
 *
 * One watch instead of one per resource is not only cheaper (a single etcd watcher per replica):
 * it makes the caches advance together. After a change at revision N anywhere, every cache has
 * seen every change of its own resource up to N, so "the caches have caught up with N" is a
 * question with a prompt answer even for resources nobody writes — the basis of consistent reads
 * across replicas (consistent-read.ts). With a watch per resource, a quiet resource's cache only
 * advances on the store's periodic progress notifications (etcd: minutes by default).
 *
 * When the watch falls behind compaction, every cache is relisted at one revision (telling its
 * subscribers what changed in between); any other watch failure resumes from the last revision
 * delivered, with backoff.
 */
import type { KubeObject } from '@boundtoken/api';
import { isStoreError, type Store, type StoreError, type StoreEvent, type Watch } from '@boundtoken/store';
import type { InformerFeed } from './informer.js';

export interface CacheGroupOptions {
  store: Store;
  /** The common prefix of every member's prefix (`/registry/`). */
  root: string;
  /** Called when the store watch fails and the caches relist or resume (for logs). */
  onWatchError?: (err: StoreError) => void;
  /** Page size of the initial lists and relists (default 5000). */
  pageSize?: number;
}

export interface CacheGroup {
  /** Adds a cache fed with the keys under `prefix` (a `root/<segment>/` prefix), before start. */
  add(prefix: string, feed: InformerFeed): void;
  /** Lists every member at one revision and starts the watch. */
  start(): Promise<void>;
  stop(): void;
  /** Every change up to this revision has been applied to every cache. */
  readonly revision: number;
  /** Resolves when every cache has applied every change up to `revision`; rejects after `timeoutMs`. */
  waitFor(revision: number, timeoutMs: number): Promise<void>;
}

export function createCacheGroup(options: CacheGroupOptions): CacheGroup {
  const { store, root } = options;
  const pageSize = options.pageSize ?? 5000;
  if (!root.endsWith('/')) throw new TypeError('the cache group root must end with /');
  const members = new Map<string, InformerFeed>();
  let revision = 0;
  let watch: Watch | undefined;
  let started = false;
  let stopped = false;
  let retryDelay = 100;
  let retryTimer: NodeJS.Timeout | undefined;
  const waiters = new Set<{ revision: number; resolve: () => void; timer: NodeJS.Timeout }>();

  function advance(rev: number): void {
    if (rev <= revision) return;
    revision = rev;
    for (const f of members.values()) f.progress(rev);
    for (const w of waiters) {
      if (w.revision <= rev) {
        waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve();
      }
    }
  }

  /** The member a key belongs to: `root<segment>/…` → the member of `root<segment>/`. */
  function memberOf(key: string): InformerFeed | undefined {
    if (!key.startsWith(root)) return undefined;
    const end = key.indexOf('/', root.length);
    return end < 0 ? undefined : members.get(key.slice(0, end + 1));
  }

  async function listPrefix(prefix: string, at: number | undefined): Promise<{ objects: KubeObject[]; revision: number }> {
    const objects: KubeObject[] = [];
    let startAfter: string | undefined;
    let rev = at;
    for (;;) {
      const page = await store.list(prefix, {
        limit: pageSize,
        ...(startAfter !== undefined ? { startAfter } : {}),
        ...(rev !== undefined ? { revision: rev } : {}),
      });
      rev = page.revision;
      for (const item of page.items) objects.push(item.value);
      if (!page.more || page.items.length === 0) break;
      startAfter = page.items[page.items.length - 1]!.key;
    }
    return { objects, revision: rev ?? 0 };
  }

  /** Every member's contents at one revision (the first list's), retried if that gets compacted. */
  async function listAll(): Promise<{ lists: Map<string, KubeObject[]>; revision: number }> {
    const prefixes = [...members.keys()];
    for (let attempt = 0; ; attempt++) {
      try {
        const first = await listPrefix(prefixes[0]!, undefined);
        const lists = new Map<string, KubeObject[]>([[prefixes[0]!, first.objects]]);
        const rest = await Promise.all(prefixes.slice(1).map((p) => listPrefix(p, first.revision)));
        prefixes.slice(1).forEach((p, i) => lists.set(p, rest[i]!.objects));
        return { lists, revision: first.revision };
      } catch (err) {
        if (isStoreError(err, 'ERR_STORE_COMPACTED') && attempt < 3) continue;
        throw err;
      }
    }
  }

  async function load(): Promise<void> {
    const { lists, revision: listRev } = await listAll();
    if (stopped) return;
    for (const [prefix, objects] of lists) members.get(prefix)!.load(objects, listRev);
    advance(listRev);
    startWatch(listRev);
  }

  function onEvent(ev: StoreEvent): void {
    retryDelay = 100;
    if (ev.revision <= revision) return;
    memberOf(ev.key)?.apply(ev);
    advance(ev.revision);
  }

  function startWatch(from: number): void {
    if (stopped) return;
    watch = store.watch(root, {
      afterRevision: from,
      onEvent,
      onProgress: (rev) => advance(rev),
      onError: (err) => {
        watch = undefined;
        if (stopped) return;
        options.onWatchError?.(err);
        const compacted = err.code === 'ERR_STORE_COMPACTED';
        retry(compacted ? 0 : retryDelay, () => (compacted ? load() : (startWatch(revision), Promise.resolve())));
      },
    });
  }

  function retry(delay: number, attempt: () => Promise<void>): void {
    if (stopped) return;
    retryDelay = Math.min(retryDelay * 2, 10_000);
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      if (stopped) return;
      // a failed relist (the store is down) is tried again, with backoff, until it works
      attempt().catch(() => retry(retryDelay, load));
    }, delay);
    retryTimer.unref();
  }

  return {
    add(prefix, feed) {
      if (started) throw new TypeError('cannot add a cache to a started group');
      if (!prefix.startsWith(root) || !prefix.endsWith('/') || prefix.indexOf('/', root.length) !== prefix.length - 1) {
        throw new TypeError(`cache prefix ${prefix} must be ${root}<segment>/`);
      }
      if (members.has(prefix)) throw new TypeError(`two caches for ${prefix}`);
      members.set(prefix, feed);
    },
    async start() {
      if (started) throw new TypeError('the cache group is already started');
      started = true;
      if (members.size === 0) return;
      await load();
    },
    stop() {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      watch?.stop();
      watch = undefined;
      for (const f of members.values()) f.stop();
      for (const w of waiters) {
        clearTimeout(w.timer);
        w.resolve();
      }
      waiters.clear();
    },
    get revision() {
      return revision;
    },
    waitFor(rev, timeoutMs) {
      if (rev <= revision || stopped) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const waiter = {
          revision: rev,
          resolve,
          timer: setTimeout(() => {
            waiters.delete(waiter);
            reject(new Error(`the caches did not reach revision ${rev} within ${timeoutMs} ms (at ${revision})`));
          }, timeoutMs),
        };
        waiter.timer.unref();
        waiters.add(waiter);
      });
    },
  };
}
