/**
 * Consistent reads from the caches when several server replicas share one store (etcd).
 *
 * A replica's caches follow the store through a watch, so right after another replica wrote,
 * they may still show the old state. Kubernetes serves a GET or LIST without `resourceVersion` as
 * a consistent read (the state as of the moment the request arrived, with every acknowledged write
 * in it); kube-apiserver does it by asking etcd for its current revision and waiting until the
 * watch cache has caught up with it. So does this barrier:
 *
 *   1. a linearizable read of the store's current revision C that *started after* the request
 *      arrived (concurrent requests share one read: while a read is in flight, the requests that
 *      arrive join the next one, so a busy replica makes one store round trip at a time);
 *   2. waiting until the caches have applied every change up to C (shared-watch.ts makes every
 *      cache advance with every change, so this is prompt for quiet resources too).
 *
 * The answer says how the request may be served: `fresh` (the caches hold every write acknowledged
 * before the request arrived), `stale` (the store answered but the caches did not catch up in
 * time: read through to the store, or serve the cache knowingly), `unavailable` (the store did
 * not answer: consistent reads and writes fail with 503; authentication and reviews go on from the
 * caches, as kube-apiserver's do). After a failed store read the barrier answers `unavailable` at
 * once — without making every request wait — until a read succeeds again (each request that finds
 * it unavailable starts a new probe when none is in flight).
 */

export type Freshness = 'fresh' | 'stale' | 'unavailable';

export interface ReadBarrierOptions {
  /** A linearizable read of the store's latest revision. */
  currentRevision: () => Promise<number>;
  /** Resolves once the caches have applied every change up to `revision`; rejects after `timeoutMs`. */
  waitForCaches: (revision: number, timeoutMs: number) => Promise<void>;
  /** How long a request waits for the store's revision, and then for the caches (default 2000 ms each). */
  timeoutMs?: number;
}

export interface ReadBarrier {
  /** How fresh the caches are for a request that arrived now (see the module comment). */
  sync(): Promise<Freshness>;
  /** False after a failed store read, until one succeeds. */
  readonly available: boolean;
}

export function createReadBarrier(o: ReadBarrierOptions): ReadBarrier {
  const timeoutMs = o.timeoutMs ?? 2000;
  let inflight: Promise<number> | undefined;
  let queued: Promise<number> | undefined;
  let available = true;

  const begin = (): Promise<number> => {
    const round = o.currentRevision().then(
      (rev) => {
        available = true;
        return rev;
      },
      (err: unknown) => {
        available = false;
        throw err;
      },
    );
    const settled = round.finally(() => {
      if (inflight === settled) inflight = undefined;
    });
    inflight = settled;
    // a failed probe nobody waits for must not be an unhandled rejection
    settled.catch(() => undefined);
    return settled;
  };

  /** A revision read that started after this call. */
  const nextRevision = (): Promise<number> => {
    if (!inflight) return begin();
    // the read in flight may have been answered before this request arrived: take the next one
    queued ??= inflight
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        queued = undefined;
        return inflight ?? begin();
      });
    return queued;
  };

  const within = <T>(p: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
      p.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err as Error);
        },
      );
    });

  return {
    get available() {
      return available;
    },
    async sync() {
      if (!available) {
        // a probe, so that the barrier notices when the store is back
        if (!inflight) void nextRevision().catch(() => undefined);
        return 'unavailable';
      }
      let revision: number;
      try {
        revision = await within(nextRevision());
      } catch {
        return 'unavailable';
      }
      try {
        await o.waitForCaches(revision, timeoutMs);
        return 'fresh';
      } catch {
        return 'stale';
      }
    },
  };
}
