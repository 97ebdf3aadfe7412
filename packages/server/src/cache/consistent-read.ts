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
 * `sync()` does that for one request. `recent(ms)` is the cheap variant for hot paths that can
 * accept a bounded staleness (TokenReview): it answers at once while the newest completed round
 * started at most `ms` ago — so the caches hold every write acknowledged more than `ms` before
 * the request — and otherwise waits for a round like `sync()`. Under steady load a round starts
 * in the background when the last one is half that old, so requests do not wait at all and the
 * store sees a few reads per second whatever the request rate.
 *
 * The answer says how the request may be served: `fresh` (as above), `stale` (the store answered
 * but the caches did not catch up in time: read through to the store, or serve the cache
 * knowingly), `unavailable` (the store did not answer: consistent reads and writes fail with 503;
 * authentication and reviews go on from the caches, as kube-apiserver's do). After a failed store
 * read the barrier answers `unavailable` at once — without making every request wait — until a
 * read succeeds again (each request that finds it unavailable starts a probe when none is in
 * flight).
 */
import { performance } from 'node:perf_hooks';

export type Freshness = 'fresh' | 'stale' | 'unavailable';

export interface ReadBarrierOptions {
  /** A linearizable read of the store's latest revision. */
  currentRevision: () => Promise<number>;
  /** Resolves once the caches have applied every change up to `revision`; rejects after `timeoutMs`. */
  waitForCaches: (revision: number, timeoutMs: number) => Promise<void>;
  /** How long a request waits for the store's revision, and then for the caches (default 2000 ms each). */
  timeoutMs?: number;
  /** A monotonic clock in milliseconds (default `performance.now`). */
  now?: () => number;
}

export interface ReadBarrier {
  /** How fresh the caches are for a request that arrived now: every write acknowledged before it. */
  sync(): Promise<Freshness>;
  /** Like sync, but `fresh` already means every write acknowledged more than `maxStalenessMs` ago. */
  recent(maxStalenessMs: number): Promise<Freshness>;
  /** False after a failed store read, until one succeeds. */
  readonly available: boolean;
}

interface Round {
  revision: number;
  /** When the read was sent: every write acknowledged before then is at or below `revision`. */
  startedAt: number;
}

const FRESH: Promise<Freshness> = Promise.resolve('fresh');
const UNAVAILABLE: Promise<Freshness> = Promise.resolve('unavailable');

export function createReadBarrier(o: ReadBarrierOptions): ReadBarrier {
  const timeoutMs = o.timeoutMs ?? 2000;
  const now = o.now ?? (() => performance.now());
  /** The answer of the newest round while it is pending (a revision, or a failure after at most `timeoutMs`). */
  let current: Promise<Round> | undefined;
  /** The round the requests that arrived during `current` wait for. */
  let queued: Promise<Round> | undefined;
  let available = true;
  /** The start of the newest round whose revision the caches have reached. */
  let freshAsOf = -Infinity;
  let refreshing = false;

  const begin = (): Promise<Round> => {
    const startedAt = now();
    // one timer per round, not per request: a busy replica answers many requests per round
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // a read that does not answer in time failed too: the requests that follow answer at once
        // instead of each waiting for a hung store (the read still sets `available` if it ends)
        available = false;
        reject(new Error(`the store did not tell its revision within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
    });
    // a read that outlives the timeout still updates `available` when it ends
    const read = o.currentRevision().then(
      (revision) => {
        available = true;
        return { revision, startedAt };
      },
      (err: unknown) => {
        available = false;
        throw err;
      },
    );
    const answer: Promise<Round> = Promise.race([read, timedOut]).finally(() => {
      clearTimeout(timer);
      if (current === answer) current = undefined;
    });
    // a failed probe nobody waits for must not be an unhandled rejection
    read.catch(() => undefined);
    answer.catch(() => undefined);
    current = answer;
    return answer;
  };

  /** A revision read that started after this call (at most two rounds of waiting). */
  const nextRound = (): Promise<Round> => {
    if (!current) return begin();
    // the round in flight may have read the revision before this request arrived: take the next one
    queued ??= current
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        queued = undefined;
        return current ?? begin();
      });
    return queued;
  };

  const catchUp = async (round: Round): Promise<Freshness> => {
    try {
      await o.waitForCaches(round.revision, timeoutMs);
    } catch {
      return 'stale';
    }
    if (round.startedAt > freshAsOf) freshAsOf = round.startedAt;
    return 'fresh';
  };

  const sync = async (): Promise<Freshness> => {
    if (!available) {
      // a probe, so that the barrier notices when the store is back
      if (!current) void begin();
      return 'unavailable';
    }
    let round: Round;
    try {
      round = await nextRound();
    } catch {
      return 'unavailable';
    }
    return catchUp(round);
  };

  return {
    get available() {
      return available;
    },
    sync,
    recent(maxStalenessMs) {
      if (!available) {
        if (!current) void begin();
        return UNAVAILABLE;
      }
      const age = now() - freshAsOf;
      if (age > maxStalenessMs) return sync();
      if (age > maxStalenessMs / 2 && !refreshing) {
        refreshing = true;
        void nextRound()
          .then(catchUp, () => undefined)
          .finally(() => (refreshing = false));
      }
      return FRESH;
    },
  };
}
