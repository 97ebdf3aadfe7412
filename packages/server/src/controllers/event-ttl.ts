/** Events expire an hour after they were last seen (kube-apiserver's `--event-ttl`). */
import type { Event } from '@boundtoken/api';
import type { Registry } from '../registry/registry.js';
import { controllerContext } from './context.js';

export function startEventTTL(registry: Registry, ttlMs = 3600_000): { stop(): void } {
  const events = registry.cache<Event>('events');
  const def = registry.def('', 'events')!;
  const timer = setInterval(() => {
    const cutoff = Date.now() - ttlMs;
    for (const e of events.list()) {
      const last = Date.parse(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? '');
      if (Number.isFinite(last) && last < cutoff) {
        registry.delete(def, controllerContext('event-ttl'), e.metadata!.namespace!, e.metadata!.name!, {}).catch(() => undefined);
      }
    }
  }, 60_000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
