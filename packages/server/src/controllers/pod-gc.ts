/**
 * Graceful pod deletion: a pod marked for deletion (`deletionTimestamp`) is removed when its node
 * confirms (a DELETE with grace 0 — handled by the registry) or, failing that, when its grace
 * period is over.
 */
import type { Pod } from '@boundtoken/api';
import type { Registry } from '../registry/registry.js';

export function startPodGC(registry: Registry, log: { warn: (o: object, m: string) => void }): { stop(): void } {
  const pods = registry.cache<Pod>('pods');
  const def = registry.def('', 'pods')!;
  const timers = new Map<string, NodeJS.Timeout>();

  const schedule = (pod: Pod): void => {
    const key = `${pod.metadata!.namespace}/${pod.metadata!.name}`;
    const existing = timers.get(key);
    if (existing) clearTimeout(existing);
    timers.delete(key);
    const ts = pod.metadata?.deletionTimestamp;
    if (!ts) return;
    const delay = Math.max(0, Date.parse(ts) - Date.now()) + 100;
    const timer = setTimeout(() => {
      timers.delete(key);
      registry
        .finishDeletion(def, pod.metadata!.namespace!, pod.metadata!.name!, pod.metadata!.uid)
        .catch((err: unknown) => {
          log.warn({ pod: key, err }, 'removing a pod past its grace period failed');
          schedule(pod);
        });
    }, Math.min(delay, 2 ** 31 - 1));
    timer.unref();
    timers.set(key, timer);
  };
  const unsub = pods.subscribe({
    add: schedule,
    update: (p) => schedule(p),
    delete: (p) => {
      const key = `${p.metadata!.namespace}/${p.metadata!.name}`;
      const t = timers.get(key);
      if (t) clearTimeout(t);
      timers.delete(key);
    },
  });
  for (const p of pods.list()) if (p.metadata?.deletionTimestamp) schedule(p);
  return {
    stop() {
      unsub();
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
    },
  };
}
