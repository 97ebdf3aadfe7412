/**
 * Node lifecycle: a node whose agent stopped posting status (no heartbeat in the node's Ready
 * condition or its `kube-node-lease` Lease for 40 s, the node-monitor grace period) is marked
 * `Ready=Unknown` (reason NodeStatusUnknown), as kube-controller-manager does; the scheduler then
 * places nothing there. (Taint-based eviction is not implemented: no containers run here.)
 */
import type { Lease, Node } from '@boundtoken/api';
import type { Registry } from '../registry/registry.js';
import { rfc3339 } from '../registry/registry.js';
import { controllerContext } from './context.js';

export const NODE_MONITOR_GRACE_MS = 40_000;

function lastHeartbeat(node: Node, lease: Lease | undefined): number {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const hb = ready?.lastHeartbeatTime ? Date.parse(ready.lastHeartbeatTime) : 0;
  const renew = lease?.spec?.renewTime ? Date.parse(lease.spec.renewTime) : 0;
  return Math.max(hb, renew, node.metadata?.creationTimestamp ? Date.parse(node.metadata.creationTimestamp) : 0);
}

export function startNodeLifecycle(registry: Registry, log: { warn: (o: object, m: string) => void }, graceMs = NODE_MONITOR_GRACE_MS): { stop(): void } {
  const nodes = registry.cache<Node>('nodes');
  const leases = registry.cache<Lease>('leases');
  const def = registry.def('', 'nodes')!;
  let busy = false;
  const tick = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      const now = Date.now();
      for (const node of nodes.list()) {
        const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
        if (!ready || ready.status === 'Unknown') continue;
        if (now - lastHeartbeat(node, leases.get('kube-node-lease', node.metadata!.name!)) <= graceMs) continue;
        await registry
          .guaranteedUpdate<Node>(def, controllerContext('node-controller', 'status'), '', node.metadata!.name!, (n) => {
            const ts = rfc3339(new Date());
            for (const c of n.status?.conditions ?? []) {
              if (c.type === 'Ready' || c.type === 'MemoryPressure' || c.type === 'DiskPressure' || c.type === 'PIDPressure') {
                if (c.status === 'Unknown') continue;
                c.status = 'Unknown';
                c.reason = 'NodeStatusUnknown';
                c.message = 'Kubelet stopped posting node status.';
                c.lastTransitionTime = ts;
              }
            }
            return n;
          })
          .catch((err: unknown) => log.warn({ node: node.metadata?.name, err }, 'marking node unknown failed'));
      }
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), 5000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
