/**
 * A small scheduler: binds pending pods (no `spec.nodeName`, `schedulerName: default-scheduler`)
 * to a Ready, schedulable node whose labels match the pod's `nodeSelector` and whose taints the
 * pod tolerates, preferring the node with the fewest pods. Unschedulable pods get the
 * `PodScheduled=False` condition and a `FailedScheduling` event, and are retried when nodes change.
 */
import type { Node, Pod, Taint, Toleration } from '@boundtoken/api';
import type { Registry } from '../registry/registry.js';
import { rfc3339 } from '../registry/registry.js';
import { controllerContext } from './context.js';
import type { EventRecorder } from './events.js';
import { WorkQueue } from './queue.js';

function nodeReady(node: Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function tolerates(tolerations: Toleration[], taint: Taint): boolean {
  return tolerations.some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === 'Exists') return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

export function podNeedsScheduling(pod: Pod): boolean {
  return !pod.spec?.nodeName && !pod.metadata?.deletionTimestamp && (pod.spec?.schedulerName ?? 'default-scheduler') === 'default-scheduler' &&
    pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

/**
 * Why each node does not fit, in the scheduler's words, or the chosen node. Each node reports the
 * first filter it fails, in the default plugin order: NodeUnschedulable, TaintToleration (a node
 * that is not Ready carries the not-ready taint), NodeAffinity.
 */
export function chooseNode(pod: Pod, nodes: Node[], podsOnNode: (node: string) => number): { node?: string; message: string } {
  if (nodes.length === 0) return { message: 'no nodes available to schedule pods' };
  const reasons = new Map<string, number>();
  const bump = (r: string): void => void reasons.set(r, (reasons.get(r) ?? 0) + 1);
  const tolerations = pod.spec?.tolerations ?? [];
  const fits: Node[] = [];
  for (const node of nodes) {
    if (node.spec?.unschedulable && !tolerates(tolerations, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' })) {
      bump('node(s) were unschedulable');
      continue;
    }
    const taints: Taint[] = [...(nodeReady(node) ? [] : [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }]), ...(node.spec?.taints ?? [])];
    const blocking = taints.filter((t) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !tolerates(tolerations, t));
    if (blocking.length > 0) {
      bump(`node(s) had untolerated taint {${blocking[0]!.key}: ${blocking[0]!.value ?? ''}}`);
      continue;
    }
    const labels = node.metadata?.labels ?? {};
    if (!Object.entries(pod.spec?.nodeSelector ?? {}).every(([k, v]) => labels[k] === v)) {
      bump("node(s) didn't match Pod's node affinity/selector");
      continue;
    }
    fits.push(node);
  }
  if (fits.length === 0) {
    // FitError.Error(): "<count> <reason>" strings, sorted as strings
    const detail = [...reasons.entries()].map(([r, n]) => `${n} ${r}`).sort();
    const total = nodes.length;
    const msg = `0/${total} nodes are available${detail.length ? `: ${detail.join(', ')}` : ''}. preemption: 0/${total} nodes are available: ${total} Preemption is not helpful for scheduling.`;
    return { message: msg };
  }
  fits.sort((a, b) => podsOnNode(a.metadata!.name!) - podsOnNode(b.metadata!.name!) || (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
  return { node: fits[0]!.metadata!.name!, message: '' };
}

/** Sets `spec.nodeName` (once) and the PodScheduled condition: what `pods/binding` does. */
export async function bindPod(registry: Registry, namespace: string, name: string, node: string, uid?: string, component = 'kube-scheduler'): Promise<Pod> {
  const def = registry.def('', 'pods')!;
  const ctx = controllerContext(component, 'binding');
  const { object } = await registry.guaranteedUpdate<Pod>(def, ctx, namespace, name, (pod) => {
    if (uid && pod.metadata?.uid !== uid) {
      throw new BindingConflict(`pod ${name} was replaced (uid ${pod.metadata?.uid}, expected ${uid})`);
    }
    if (pod.spec?.nodeName) {
      throw new BindingConflict(`pod ${name} is already assigned to node "${pod.spec.nodeName}"`);
    }
    if (pod.metadata?.deletionTimestamp) throw new BindingConflict(`pod ${name} is being deleted, cannot be assigned to a host`);
    pod.spec!.nodeName = node;
    const status = (pod.status ??= {});
    const conditions = (status.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
    conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null as unknown as undefined, lastTransitionTime: rfc3339(new Date()) });
    status.conditions = conditions;
    return pod;
  });
  return object;
}

export class BindingConflict extends Error {}

export interface Scheduler {
  stop(): void;
  idle(): Promise<void>;
}

export function startScheduler(registry: Registry, recorder: EventRecorder, log: { warn: (o: object, m: string) => void }): Scheduler {
  const pods = registry.cache<Pod>('pods');
  const nodes = registry.cache<Node>('nodes');
  const podDef = registry.def('', 'pods')!;
  const reported = new Map<string, string>();

  const queue = new WorkQueue(
    async (key) => {
      const [ns, name] = key.split('/') as [string, string];
      const pod = pods.get(ns, name);
      if (!pod || !podNeedsScheduling(pod)) {
        reported.delete(key);
        return;
      }
      const choice = chooseNode(pod, nodes.list(), (n) => pods.byIndex('spec.nodeName', n).length);
      if (!choice.node) {
        if (reported.get(key) === choice.message) return;
        reported.set(key, choice.message);
        await registry.guaranteedUpdate<Pod>(podDef, controllerContext('kube-scheduler', 'status'), ns, name, (p) => {
          const status = (p.status ??= {});
          const conditions = (status.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
          conditions.push({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: choice.message, lastProbeTime: null as unknown as undefined, lastTransitionTime: rfc3339(new Date()) });
          status.conditions = conditions;
          return p;
        });
        recorder.record(pod, 'Warning', 'FailedScheduling', choice.message);
        return;
      }
      try {
        await bindPod(registry, ns, name, choice.node, pod.metadata?.uid);
      } catch (err) {
        if (err instanceof BindingConflict) return;
        throw err;
      }
      reported.delete(key);
      recorder.record(pod, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${name} to ${choice.node}`);
    },
    { onError: (key, err) => log.warn({ pod: key, err }, 'scheduling failed') },
  );

  const enqueuePod = (p: Pod): void => {
    if (podNeedsScheduling(p)) queue.add(`${p.metadata!.namespace}/${p.metadata!.name}`);
  };
  const enqueueAllPending = (): void => {
    for (const p of pods.byIndex('spec.nodeName', '')) enqueuePod(p);
  };
  const unsubPods = pods.subscribe({ add: enqueuePod, update: enqueuePod, delete: (p) => reported.delete(`${p.metadata!.namespace}/${p.metadata!.name}`) });
  const unsubNodes = nodes.subscribe({ add: enqueueAllPending, update: (n, old) => (nodeReady(n) !== nodeReady(old) || JSON.stringify(n.metadata?.labels) !== JSON.stringify(old.metadata?.labels) || n.spec?.unschedulable !== old.spec?.unschedulable ? enqueueAllPending() : undefined) });
  enqueueAllPending();
  const timer = setInterval(() => {
    reported.clear();
    enqueueAllPending();
  }, 30_000);
  timer.unref();
  return {
    stop() {
      unsubPods();
      unsubNodes();
      clearInterval(timer);
      queue.stop();
    },
    idle: () => queue.idle(),
  };
}
