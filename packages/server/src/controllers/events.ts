/**
 * Recording core/v1 Events for the objects controllers act on; a repeat of the same
 * (object, reason, message) within ten minutes bumps `count` instead of creating a new event.
 */
import type { Event, KubeObject } from '@boundtoken/api';
import type { Registry } from '../registry/registry.js';
import { rfc3339 } from '../registry/registry.js';
import { controllerContext } from './context.js';

export interface EventRecorder {
  record(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

/** Events waiting to be written beyond which new ones are dropped (client-go's queue holds 1000). */
const MAX_PENDING = 1000;

export function createEventRecorder(
  registry: Registry,
  component: string,
  onError?: (err: unknown) => void,
  clock: () => Date = () => new Date(),
): EventRecorder {
  const recent = new Map<string, { name: string; at: number }>();
  // one write at a time, in order, as client-go's recorder sink: a repeat recorded while the first
  // occurrence is being written finds it and counts, instead of creating a second Event
  let tail: Promise<void> = Promise.resolve();
  let pending = 0;
  let lastStamp = 0n;
  /**
   * The name's suffix: the time in nanoseconds as hex, as client-go's `%x` of UnixNano — the
   * milliseconds we have, a random part below them (replicas recording at once), and never the
   * same twice here (two Events in one nanosecond would be an AlreadyExists and one lost).
   */
  const stamp = (now: Date): string => {
    let ns = BigInt(now.getTime()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6));
    if (ns <= lastStamp) ns = lastStamp + 1n;
    lastStamp = ns;
    return ns.toString(16);
  };
  return {
    record(obj, type, reason, message) {
      const def = registry.def('', 'events');
      if (!def) return;
      const ns = obj.metadata?.namespace || 'default';
      const key = `${obj.metadata?.uid}/${reason}/${message}`;
      const now = clock();
      if (pending >= MAX_PENDING) {
        onError?.(new Error(`${MAX_PENDING} events are waiting to be written: dropped ${reason} for ${ns}/${obj.metadata?.name}`));
        return;
      }
      pending++;
      tail = tail.then(async () => {
        try {
          const seen = recent.get(key);
          if (seen && now.getTime() - seen.at < 600_000 && registry.get(def, ns, seen.name)) {
            await registry.guaranteedUpdate<Event>(def, controllerContext(component), ns, seen.name, (e) => {
              e.count = (e.count ?? 1) + 1;
              e.lastTimestamp = rfc3339(now);
              return e;
            });
            seen.at = now.getTime();
            return;
          }
          const name = `${obj.metadata?.name}.${stamp(now)}`;
          const event: Event = {
            apiVersion: 'v1',
            kind: 'Event',
            metadata: { name, namespace: ns },
            involvedObject: {
              kind: obj.kind ?? '',
              namespace: obj.metadata?.namespace ?? '',
              name: obj.metadata?.name ?? '',
              uid: obj.metadata?.uid ?? '',
              apiVersion: obj.apiVersion ?? '',
              resourceVersion: obj.metadata?.resourceVersion ?? '',
            },
            reason,
            message,
            source: { component },
            firstTimestamp: rfc3339(now),
            lastTimestamp: rfc3339(now),
            count: 1,
            type,
            eventTime: null as unknown as undefined,
            reportingComponent: component,
            reportingInstance: '',
          };
          await registry.create(def, controllerContext(component), ns, event as KubeObject);
          recent.set(key, { name, at: now.getTime() });
          if (recent.size > 10_000) recent.delete(recent.keys().next().value!);
        } catch (err) {
          onError?.(err);
        } finally {
          pending--;
        }
      });
    },
  };
}
