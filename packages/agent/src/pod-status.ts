/**
 * The status the agent reports for a pod. boundtoken runs no containers: it sets up the pod's
 * volumes and says so. The phase stays `Pending`; `PodReadyToStartContainers` turns True once every
 * volume is set up (before that, containers wait with the kubelet's `ContainerCreating`); after
 * that every container waits with reason `ContainersNotRun`, and `Ready`/`ContainersReady` stay
 * False with the same reason, rather than pretend anything runs.
 */
import type { Container, ContainerStatus, Pod, PodCondition, PodStatus } from '@boundtoken/api';

export const REASON_CONTAINERS_NOT_RUN = 'ContainersNotRun';
export const REASON_CONTAINER_CREATING = 'ContainerCreating';

export interface StatusInput {
  pod: Pod;
  /** Every volume of the pod has been set up at least once. */
  volumesReady: boolean;
  nodeName: string;
  hostIP: string;
  now: number;
}

export function computePodStatus(input: StatusInput): PodStatus {
  const { pod, volumesReady, hostIP } = input;
  const now = iso(input.now);
  const prev = pod.status ?? {};
  const containers = pod.spec?.containers ?? [];
  const inits = pod.spec?.initContainers ?? [];
  const names = (cs: Container[]) => `[${cs.map((c) => c.name).join(' ')}]`;

  const waiting = volumesReady
    ? {
        reason: REASON_CONTAINERS_NOT_RUN,
        message: `boundtoken runs no containers: the pod's volumes are set up on node ${input.nodeName}`,
      }
    : { reason: REASON_CONTAINER_CREATING, message: 'waiting for the pod\'s volumes to be set up' };

  const conditions: PodCondition[] = [
    { type: 'PodReadyToStartContainers', status: volumesReady ? 'True' : 'False' },
    inits.length === 0
      ? { type: 'Initialized', status: 'True' }
      : {
          type: 'Initialized',
          status: 'False',
          reason: 'ContainersNotInitialized',
          message: `containers with incomplete status: ${names(inits)}`,
        },
    {
      type: 'Ready',
      status: 'False',
      reason: REASON_CONTAINERS_NOT_RUN,
      message: `boundtoken runs no containers: containers with unready status: ${names(containers)}`,
    },
    {
      type: 'ContainersReady',
      status: 'False',
      reason: REASON_CONTAINERS_NOT_RUN,
      message: `boundtoken runs no containers: containers with unready status: ${names(containers)}`,
    },
    { type: 'PodScheduled', status: 'True' },
  ].map((c): PodCondition => {
    const old = prev.conditions?.find((o) => o.type === c.type);
    const lastTransitionTime = old && old.status === c.status && old.lastTransitionTime ? old.lastTransitionTime : now;
    return { ...c, lastProbeTime: null as unknown as string, lastTransitionTime };
  });

  const containerStatus = (c: Container): ContainerStatus => ({
    name: c.name,
    image: c.image ?? '',
    imageID: '',
    ready: false,
    started: false,
    restartCount: 0,
    state: { waiting: { ...waiting } },
  });

  const status: PodStatus = {
    phase: 'Pending',
    conditions,
    hostIP,
    hostIPs: [{ ip: hostIP }],
    startTime: prev.startTime ?? now,
    containerStatuses: containers.map(containerStatus),
    qosClass: qosClass(pod),
  };
  if (inits.length > 0) status.initContainerStatuses = inits.map(containerStatus);
  return status;
}

/** The parts of a status that matter for deciding whether to write it (no timestamps). */
export function statusFingerprint(status: PodStatus | undefined): string {
  if (!status) return '';
  const cs = (list: ContainerStatus[] | undefined) =>
    (list ?? []).map((c) => [c.name, c.ready, c.state?.waiting?.reason ?? '', c.state?.waiting?.message ?? '']);
  return JSON.stringify([
    status.phase,
    status.hostIP,
    status.qosClass,
    (status.conditions ?? []).map((c) => [c.type, c.status, c.reason ?? '', c.message ?? '']),
    cs(status.containerStatuses),
    cs(status.initContainerStatuses),
  ]);
}

/** BestEffort, Guaranteed or Burstable, from the containers' cpu and memory requests and limits. */
export function qosClass(pod: Pod): 'BestEffort' | 'Guaranteed' | 'Burstable' {
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of all) {
    const limits = (c.resources?.limits ?? {}) as Record<string, string>;
    const requests = (c.resources?.requests ?? {}) as Record<string, string>;
    for (const r of ['cpu', 'memory']) {
      const req = requests[r] ?? limits[r];
      if (req !== undefined || limits[r] !== undefined) any = true;
      if (limits[r] === undefined || String(req) !== String(limits[r])) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
