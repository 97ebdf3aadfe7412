/**
 * etcd history compaction, as kube-apiserver's `--etcd-compaction-interval` (5 minutes): each tick
 * compacts to the revision seen at the previous tick, so between one and two intervals of history
 * stay readable for watches and paged lists. (SQLite and memory compact themselves.)
 */
import type { Store } from '@boundtoken/store';

export function startCompactor(store: Store, log: { warn: (o: object, m: string) => void }, intervalMs = 300_000): { stop(): void } {
  let previous = 0;
  const timer = setInterval(() => {
    void (async () => {
      try {
        const current = await store.currentRevision();
        if (previous > 0) await store.compact(previous);
        previous = current;
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'compacting the store failed');
      }
    })();
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
