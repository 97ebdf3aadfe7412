/**
 * An informer: list a collection into a map, then watch it from the list's resourceVersion.
 * A watch the server ends cleanly is resumed from the last resourceVersion; `410 Gone`/`Expired`
 * (as an HTTP status or as an `ERROR` event) triggers a relist, which reconciles the map and
 * emits the differences; other failures are retried with exponential backoff and jitter.
 */
import type { KubeObject, Status } from '@boundtoken/api';
import { ApiError } from './errors.js';
import type { InformerShape, KubeClientShape, WatchHandle } from './types.js';

export interface InformerOptions {
  /** Collection path, e.g. `/api/v1/pods` or `/api/v1/namespaces/ns/serviceaccounts`. */
  path: string;
  /** Extra query for list and watch (`fieldSelector`, `labelSelector`). */
  query?: Record<string, string>;
  /** Page size of the list (default 500). */
  pageSize?: number;
  /** First retry delay (default 500 ms), doubled per failure up to `maxBackoffMs` (default 30 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Watch `timeoutSeconds` is drawn between these bounds (default 300–600, as client-go). */
  watchTimeoutSeconds?: [number, number];
  /** Randomness for jitter (default `Math.random`). */
  random?: () => number;
}

export interface InformerHandlers<T> {
  add?: (obj: T) => void;
  update?: (obj: T, old: T) => void;
  delete?: (obj: T) => void;
  /** A list or watch failed (the informer retries on its own) or a handler threw. */
  error?: (err: Error) => void;
}

export interface Informer<T extends KubeObject = KubeObject> extends InformerShape<T> {
  on(handler: InformerHandlers<T>): () => void;
  /** True once the first list has been delivered. */
  readonly synced: boolean;
}

export function objectKey(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
}

export function createInformer<T extends KubeObject = KubeObject>(client: KubeClientShape, options: InformerOptions): Informer<T> {
  const { path } = options;
  const query = options.query ?? {};
  const pageSize = options.pageSize ?? 500;
  const initialBackoff = options.initialBackoffMs ?? 500;
  const maxBackoff = options.maxBackoffMs ?? 30_000;
  const [minWatch, maxWatch] = options.watchTimeoutSeconds ?? [300, 600];
  const random = options.random ?? Math.random;

  const items = new Map<string, T>();
  const handlers = new Set<InformerHandlers<T>>();
  let resourceVersion = '';
  let running = false;
  let synced = false;
  let failures = 0;
  let watchHandle: WatchHandle | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let generation = 0;
  let startPromise: Promise<void> | undefined;
  let resolveStart: (() => void) | undefined;
  let rejectStart: ((err: Error) => void) | undefined;

  function emit<K extends 'add' | 'update' | 'delete'>(kind: K, ...args: Parameters<NonNullable<InformerHandlers<T>[K]>>): void {
    for (const h of handlers) {
      const fn = h[kind] as ((...a: unknown[]) => void) | undefined;
      if (!fn) continue;
      try {
        fn(...args);
      } catch (err) {
        reportError(err as Error);
      }
    }
  }

  function reportError(err: Error): void {
    for (const h of handlers) {
      try {
        h.error?.(err);
      } catch {
        // an error handler that throws has nowhere left to report to
      }
    }
  }

  function backoffDelay(): number {
    const base = Math.min(maxBackoff, initialBackoff * 2 ** Math.min(failures, 20));
    failures++;
    return Math.round(base * (0.5 + random() * 0.5));
  }

  function schedule(fn: () => void, delay: number): void {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(fn, delay);
  }

  async function listAll(gen: number): Promise<{ items: T[]; resourceVersion: string }> {
    const all: T[] = [];
    let cont: string | undefined;
    let rv = '';
    let paged = pageSize > 0;
    for (;;) {
      const q: Record<string, string | number> = { ...query };
      if (paged) q.limit = pageSize;
      if (cont) q.continue = cont;
      let page: Awaited<ReturnType<KubeClientShape['list']>>;
      try {
        page = await client.list<T>(path, { query: q });
      } catch (err) {
        // An expired continue token: start again with one unpaged list, as client-go does.
        if (cont && isGone(err)) {
          paged = false;
          cont = undefined;
          all.length = 0;
          continue;
        }
        throw err;
      }
      if (gen !== generation) return { items: [], resourceVersion: '' };
      if (!page || !Array.isArray(page.items)) throw new ApiError('ERR_API_RESPONSE', `list ${path}: the answer has no items`);
      all.push(...(page.items as T[]));
      rv = page.metadata?.resourceVersion ?? rv;
      cont = page.metadata?.continue || undefined;
      if (!cont) return { items: all, resourceVersion: rv };
    }
  }

  function replace(next: T[], rv: string): void {
    const old = new Map(items);
    items.clear();
    for (const obj of next) items.set(objectKey(obj), obj);
    resourceVersion = rv;
    for (const [key, obj] of items) {
      const prev = old.get(key);
      if (!prev) emit('add', obj);
      else if (prev.metadata?.resourceVersion !== obj.metadata?.resourceVersion) emit('update', obj, prev);
    }
    for (const [key, prev] of old) if (!items.has(key)) emit('delete', prev);
  }

  function relist(): void {
    stopWatch();
    const gen = ++generation;
    listAll(gen).then(
      ({ items: next, resourceVersion: rv }) => {
        if (!running || gen !== generation) return;
        failures = 0;
        replace(next, rv);
        if (!synced) {
          synced = true;
          resolveStart?.();
        }
        watch();
      },
      (err: unknown) => {
        if (!running || gen !== generation) return;
        reportError(err as Error);
        schedule(relist, backoffDelay());
      },
    );
  }

  function stopWatch(): void {
    clearTimeout(watchdog);
    watchdog = undefined;
    watchHandle?.stop();
    watchHandle = undefined;
  }

  function watch(): void {
    stopWatch();
    const gen = generation;
    const timeoutSeconds = Math.round(minWatch + random() * (maxWatch - minWatch));
    const current = (): boolean => running && gen === generation && watchHandle === handle;
    const handle: WatchHandle = client.watch(path, {
      query: { ...query, watch: 1, resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
      onEvent(event) {
        if (!current()) return;
        const obj = event.object as T;
        const rv = obj.metadata?.resourceVersion;
        switch (event.type) {
          case 'ADDED':
          case 'MODIFIED': {
            const key = objectKey(obj);
            const prev = items.get(key);
            items.set(key, obj);
            if (rv) resourceVersion = rv;
            failures = 0;
            if (prev) emit('update', obj, prev);
            else emit('add', obj);
            break;
          }
          case 'DELETED': {
            const key = objectKey(obj);
            const prev = items.get(key);
            items.delete(key);
            if (rv) resourceVersion = rv;
            failures = 0;
            emit('delete', prev ?? obj);
            break;
          }
          case 'BOOKMARK':
            if (rv) resourceVersion = rv;
            break;
          case 'ERROR': {
            const status = event.object as Status;
            stopWatch();
            if (status.code === 410 || status.reason === 'Expired' || status.reason === 'Gone') {
              relist();
            } else {
              reportError(new ApiError('ERR_API_STATUS', `watch ${path}: ${status.message ?? 'error event'}`, { statusCode: status.code, status }));
              schedule(watch, backoffDelay());
            }
            break;
          }
        }
      },
      onClose(err) {
        if (!current()) return;
        stopWatch();
        if (!err) {
          watch();
        } else if (isGone(err)) {
          relist();
        } else {
          reportError(err);
          schedule(watch, backoffDelay());
        }
      },
    });
    watchHandle = handle;
    // If the server does not end the watch at timeoutSeconds, end it ourselves and resume.
    watchdog = setTimeout(() => {
      if (current()) watch();
    }, (timeoutSeconds + 30) * 1000);
  }

  return {
    get resourceVersion() {
      return resourceVersion;
    },
    get synced() {
      return synced;
    },
    start(): Promise<void> {
      if (startPromise) return startPromise;
      running = true;
      startPromise = new Promise<void>((resolve, reject) => {
        resolveStart = resolve;
        rejectStart = reject;
      });
      relist();
      return startPromise;
    },
    stop(): void {
      if (!running) return;
      running = false;
      generation++;
      stopWatch();
      clearTimeout(retryTimer);
      if (!synced) rejectStart?.(new Error(`informer for ${path} stopped before its first list`));
    },
    get: (key) => items.get(key),
    list: () => [...items.values()],
    on(handler) {
      handlers.add(handler);
      return () => void handlers.delete(handler);
    },
  };
}

function isGone(err: unknown): boolean {
  return err instanceof ApiError && (err.statusCode === 410 || err.reason === 'Expired' || err.reason === 'Gone');
}
