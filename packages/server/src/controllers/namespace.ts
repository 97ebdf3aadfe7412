/**
 * The namespace controller: when a namespace is deleted (phase Terminating), delete everything
 * in it; once it is empty, remove the `kubernetes` finalizer so the namespace itself goes.
 */
import { isStatusError, type KubeObject, type Namespace } from '@boundtoken/api';
import type { Registry } from '../registry/registry.js';
import { controllerContext } from './context.js';
import { WorkQueue } from './queue.js';

export function startNamespaceController(registry: Registry, log: { warn: (o: object, m: string) => void }): { stop(): void; idle(): Promise<void> } {
  const namespaces = registry.cache<Namespace>('namespaces');
  const nsDef = registry.def('', 'namespaces')!;
  const namespaced = registry.all().filter((d) => d.namespaced);

  const queue = new WorkQueue(
    async (name) => {
      const ns = namespaces.get('', name);
      if (!ns?.metadata?.deletionTimestamp) return;
      let remaining = 0;
      for (const def of namespaced) {
        const items = registry.cache<KubeObject>(def.resource).list(name);
        for (const item of items) {
          remaining++;
          if (item.metadata?.deletionTimestamp) continue;
          try {
            await registry.delete(def, controllerContext('namespace-controller'), name, item.metadata!.name!, {});
          } catch (err) {
            if (!(isStatusError(err) && err.code === 404)) throw err;
          }
        }
      }
      if (remaining > 0) {
        // come back when the content is gone (graceful pods take their time)
        queue.addAfter(name, 1000);
        return;
      }
      if ((ns.spec?.finalizers ?? []).includes('kubernetes')) {
        await registry.guaranteedUpdate<Namespace>(nsDef, controllerContext('namespace-controller', 'finalize'), '', name, (n) => {
          n.spec = { ...(n.spec ?? {}), finalizers: (n.spec?.finalizers ?? []).filter((f) => f !== 'kubernetes') };
          return n;
        });
      }
    },
    { onError: (key, err) => log.warn({ namespace: key, err }, 'namespace cleanup failed') },
  );
  const enqueue = (ns: Namespace): void => {
    if (ns.metadata?.deletionTimestamp) queue.add(ns.metadata.name!);
  };
  const unsub = namespaces.subscribe({ add: enqueue, update: enqueue });
  for (const ns of namespaces.list()) enqueue(ns);
  return {
    stop() {
      unsub();
      queue.stop();
    },
    idle: () => queue.idle(),
  };
}
