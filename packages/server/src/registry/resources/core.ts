/**
 * core/v1 resources: namespaces, serviceaccounts, pods, nodes, secrets, configmaps, events —
 * their defaults, validation, selectable fields and `kubectl get` columns as Kubernetes 1.32 has them.
 */
import { isDeepStrictEqual } from 'node:util';
import { field, type ConfigMap, type Container, type Event, type FieldError, type KubeObject, type Namespace, type Node, type Pod, type Secret, type ServiceAccount, type Volume } from '@boundtoken/api';
import { isDNS1123Label, isDNS1123Subdomain, isValidPathSegmentName } from '../validation/names.js';
import { validateConfigMapKeys, validatePodSpec, validatePodSpecUpdate } from '../validation/pod.js';
import type { ResourceDef } from '../types.js';
import { age, ageColumn, metaValidation, nameColumn, resource } from './common.js';

const DEFAULT_MODE = 0o644;

function defaultContainer(c: Container): void {
  if (!c.imagePullPolicy && c.image) {
    const ref = c.image.split('@')[0]!;
    const lastSegment = ref.slice(ref.lastIndexOf('/') + 1);
    const tag = lastSegment.includes(':') ? lastSegment.slice(lastSegment.indexOf(':') + 1) : '';
    c.imagePullPolicy = c.image.includes('@') ? 'IfNotPresent' : tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
  }
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.resources ??= {};
  for (const p of c.ports ?? []) p.protocol ??= 'TCP';
  for (const e of c.env ?? []) {
    if (e.valueFrom?.fieldRef) e.valueFrom.fieldRef.apiVersion ??= 'v1';
  }
}

function defaultVolume(v: Volume): void {
  if (v.projected) {
    v.projected.defaultMode ??= DEFAULT_MODE;
    for (const s of v.projected.sources ?? []) {
      if (s.serviceAccountToken) s.serviceAccountToken.expirationSeconds ??= 3600;
      for (const item of s.downwardAPI?.items ?? []) if (item.fieldRef) item.fieldRef.apiVersion ??= 'v1';
    }
  }
  if (v.secret) v.secret.defaultMode ??= DEFAULT_MODE;
  if (v.configMap) v.configMap.defaultMode ??= DEFAULT_MODE;
  if (v.downwardAPI) {
    v.downwardAPI.defaultMode ??= DEFAULT_MODE;
    for (const item of v.downwardAPI.items ?? []) if (item.fieldRef) item.fieldRef.apiVersion ??= 'v1';
  }
  if (v.hostPath) v.hostPath.type ??= '';
}

/** SetDefaults_Pod / PodSpec plus what the default admission chain adds (priority, tolerations). */
export function defaultPod(pod: Pod): void {
  const spec = (pod.spec ??= { containers: [] });
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
  spec.enableServiceLinks ??= true;
  spec.priority ??= 0;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  for (const c of spec.containers ?? []) defaultContainer(c);
  for (const c of spec.initContainers ?? []) defaultContainer(c);
  for (const v of spec.volumes ?? []) defaultVolume(v);
  const tolerations = (spec.tolerations ??= []);
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    if (!tolerations.some((t) => t.key === key || (t.operator === 'Exists' && !t.key))) {
      tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
    }
  }
}

function qosClass(pod: Pod): string {
  const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    if (Object.keys(req).length > 0 || Object.keys(lim).length > 0) any = true;
    for (const r of ['cpu', 'memory']) {
      const l = lim[r];
      const q = req[r] ?? l;
      if (l === undefined || String(q) !== String(l)) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** The STATUS column of `kubectl get pods` (printPod in pkg/printers/internalversion). */
export function podStatusReason(pod: Pod): string {
  let reason = pod.status?.reason || pod.status?.phase || 'Unknown';
  const statuses = pod.status?.containerStatuses ?? [];
  for (let i = statuses.length - 1; i >= 0; i--) {
    const s = statuses[i]!;
    if (s.state?.waiting?.reason) reason = s.state.waiting.reason;
    else if (s.state?.terminated?.reason) reason = s.state.terminated.reason;
  }
  if (pod.metadata?.deletionTimestamp) reason = pod.status?.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return reason;
}

const podMeta = metaValidation<Pod>(true, isDNS1123Subdomain, (p) => validatePodSpec(p.spec));

export const pods: ResourceDef<Pod> = resource<Pod>({
  resource: 'pods',
  kind: 'Pod',
  namespaced: true,
  shortNames: ['po'],
  categories: ['all'],
  hasStatus: true,
  subresources: {
    status: { kind: 'Pod', verbs: ['get', 'patch', 'update'] },
    binding: { kind: 'Binding', verbs: ['create'] },
  },
  selectableFields: (p) => ({
    'spec.nodeName': p.spec?.nodeName ?? '',
    'spec.restartPolicy': p.spec?.restartPolicy ?? '',
    'spec.schedulerName': p.spec?.schedulerName ?? '',
    'spec.serviceAccountName': p.spec?.serviceAccountName ?? '',
    'spec.hostNetwork': String(p.spec?.hostNetwork ?? false),
    'status.phase': p.status?.phase ?? '',
    'status.podIP': p.status?.podIP ?? '',
    'status.nominatedNodeName': p.status?.nominatedNodeName ?? '',
  }),
  defaults: defaultPod,
  prepareForCreate: (pod) => {
    pod.status = { phase: 'Pending', qosClass: qosClass(pod) };
  },
  validate: podMeta.validate!,
  validateUpdate: (pod, old, ctx) => [
    ...podMeta.validateUpdate!(pod, old, ctx),
    ...validatePodSpecUpdate(pod, old, ctx.subresource === 'binding'),
  ],
  gracePeriod: (pod, requested) => {
    if (!pod.spec?.nodeName) return 0;
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return 0;
    const grace = requested ?? pod.spec.terminationGracePeriodSeconds ?? 30;
    return grace < 0 ? 1 : grace;
  },
  table: {
    columns: [
      nameColumn,
      { name: 'Ready', type: 'string', description: 'The aggregate readiness state of this pod for accepting traffic.', priority: 0 },
      { name: 'Status', type: 'string', description: 'The aggregate status of the containers in this pod.', priority: 0 },
      { name: 'Restarts', type: 'string', description: 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.', priority: 0 },
      ageColumn,
      { name: 'IP', type: 'string', description: 'IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.', priority: 1 },
      { name: 'Node', type: 'string', description: "NodeName is a request to schedule this pod onto a specific node. If it is non-empty, the scheduler simply schedules this pod onto that node, assuming that it fits resource requirements.", priority: 1 },
      { name: 'Nominated Node', type: 'string', description: 'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.', priority: 1 },
      { name: 'Readiness Gates', type: 'string', description: 'If specified, all readiness gates will be evaluated for pod readiness.', priority: 1 },
    ],
    cells: (pod, now) => {
      const statuses = pod.status?.containerStatuses ?? [];
      const total = pod.spec?.containers?.length ?? 0;
      const ready = statuses.filter((s) => s.ready).length;
      const restarts = statuses.reduce((n, s) => n + (s.restartCount ?? 0), 0);
      const gates = pod.spec?.readinessGates ?? [];
      const gatesTrue = gates.filter((g) => pod.status?.conditions?.some((c) => c.type === g.conditionType && c.status === 'True')).length;
      return [
        pod.metadata?.name,
        `${ready}/${total}`,
        podStatusReason(pod),
        String(restarts),
        age(pod.metadata?.creationTimestamp, now),
        pod.status?.podIP || '<none>',
        pod.spec?.nodeName || '<none>',
        pod.status?.nominatedNodeName || '<none>',
        gates.length ? `${gatesTrue}/${gates.length}` : '<none>',
      ];
    },
  },
});

function nodeStatus(node: Node): string {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const states = [ready ? (ready.status === 'True' ? 'Ready' : ready.status === 'False' ? 'NotReady' : 'Unknown') : 'Unknown'];
  if (node.spec?.unschedulable) states.push('SchedulingDisabled');
  return states.join(',');
}

export const nodes: ResourceDef<Node> = resource<Node>({
  resource: 'nodes',
  kind: 'Node',
  namespaced: false,
  shortNames: ['no'],
  hasStatus: true,
  subresources: { status: { kind: 'Node', verbs: ['get', 'patch', 'update'] } },
  selectableFields: (n) => ({ 'spec.unschedulable': String(n.spec?.unschedulable ?? false) }),
  ...metaValidation<Node>(false, isDNS1123Subdomain),
  table: {
    columns: [
      nameColumn,
      { name: 'Status', type: 'string', description: 'The status of the node', priority: 0 },
      { name: 'Roles', type: 'string', description: 'The roles of the node', priority: 0 },
      ageColumn,
      { name: 'Version', type: 'string', description: 'Kubelet Version reported by the node.', priority: 0 },
      { name: 'Internal-IP', type: 'string', description: "List of addresses reachable to the node. Queried from cloud provider, if available.", priority: 1 },
      { name: 'External-IP', type: 'string', description: "List of addresses reachable to the node. Queried from cloud provider, if available.", priority: 1 },
      { name: 'OS-Image', type: 'string', description: 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', priority: 1 },
      { name: 'Kernel-Version', type: 'string', description: "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", priority: 1 },
      { name: 'Container-Runtime', type: 'string', description: 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', priority: 1 },
    ],
    cells: (node, now) => {
      const roles = Object.keys(node.metadata?.labels ?? {})
        .filter((k) => k.startsWith('node-role.kubernetes.io/'))
        .map((k) => k.slice('node-role.kubernetes.io/'.length))
        .filter((r) => r !== '');
      const addr = (t: string): string => node.status?.addresses?.find((a) => a.type === t)?.address ?? '<none>';
      const info = node.status?.nodeInfo;
      return [
        node.metadata?.name,
        nodeStatus(node),
        roles.length ? roles.sort().join(',') : '<none>',
        age(node.metadata?.creationTimestamp, now),
        info?.kubeletVersion ?? '',
        addr('InternalIP'),
        addr('ExternalIP'),
        info?.osImage || '<unknown>',
        info?.kernelVersion || '<unknown>',
        info?.containerRuntimeVersion || '<unknown>',
      ];
    },
  },
});

export const namespaces: ResourceDef<Namespace> = resource<Namespace>({
  resource: 'namespaces',
  kind: 'Namespace',
  namespaced: false,
  shortNames: ['ns'],
  hasStatus: true,
  subresources: {
    status: { kind: 'Namespace', verbs: ['get', 'patch', 'update'] },
    finalize: { kind: 'Namespace', verbs: ['update'] },
  },
  selectableFields: (n) => ({ 'status.phase': n.status?.phase ?? '' }),
  defaults: (ns) => {
    const labels = (ns.metadata!.labels ??= {});
    if (ns.metadata?.name) labels['kubernetes.io/metadata.name'] = ns.metadata.name;
  },
  prepareForCreate: (ns) => {
    ns.spec = { finalizers: ['kubernetes'] };
    ns.status = { phase: 'Active' };
  },
  prepareForUpdate: (ns, old, ctx) => {
    // spec.finalizers change only through the finalize subresource
    if (ctx.subresource !== 'finalize') ns.spec = structuredClone(old.spec ?? {});
  },
  ...metaValidation<Namespace>(false, isDNS1123Label),
  table: {
    columns: [
      nameColumn,
      { name: 'Status', type: 'string', description: 'The status of the namespace', priority: 0 },
      ageColumn,
    ],
    cells: (ns, now) => [ns.metadata?.name, ns.status?.phase ?? '', age(ns.metadata?.creationTimestamp, now)],
  },
});

export const serviceAccounts: ResourceDef<ServiceAccount> = resource<ServiceAccount>({
  resource: 'serviceaccounts',
  kind: 'ServiceAccount',
  namespaced: true,
  shortNames: ['sa'],
  subresources: { token: { kind: 'TokenRequest', group: 'authentication.k8s.io', version: 'v1', verbs: ['create'] } },
  ...metaValidation<ServiceAccount>(true, isDNS1123Subdomain),
  table: {
    columns: [
      nameColumn,
      { name: 'Secrets', type: 'string', description: 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.', priority: 0 },
      ageColumn,
    ],
    cells: (sa, now) => [sa.metadata?.name, (sa.secrets ?? []).length, age(sa.metadata?.creationTimestamp, now)],
  },
});

const SECRET_SIZE_LIMIT = 1024 * 1024;

/** Secrets and ConfigMaps marked `immutable` keep their data and stay immutable. */
function immutableDataErrors(obj: KubeObject, old: KubeObject, fields: string[]): FieldError[] {
  if (!old.immutable) return [];
  const errs: FieldError[] = [];
  if (fields.some((f) => !isDeepStrictEqual(obj[f] ?? {}, old[f] ?? {}))) {
    errs.push(field.forbidden('data', 'field is immutable when `immutable` is set'));
  }
  if (!obj.immutable) errs.push(field.forbidden('immutable', 'field is immutable when `immutable` is set'));
  return errs;
}

function validateSecret(secret: Secret): FieldError[] {
  const errs: FieldError[] = [...validateConfigMapKeys(secret.data, 'data')];
  let size = 0;
  for (const [k, v] of Object.entries(secret.data ?? {})) {
    if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) {
      errs.push(field.invalid(`data[${k}]`, '<secret contents redacted>', 'must be base64 encoded'));
      continue;
    }
    size += Buffer.byteLength(v, 'base64');
  }
  if (size > SECRET_SIZE_LIMIT) errs.push(field.tooLong('data', '', SECRET_SIZE_LIMIT));
  switch (secret.type) {
    case 'kubernetes.io/service-account-token':
      if (!secret.metadata?.annotations?.['kubernetes.io/service-account.name']) {
        errs.push(field.required('metadata.annotations[kubernetes.io/service-account.name]'));
      }
      break;
    case 'kubernetes.io/dockerconfigjson':
      if (!secret.data?.['.dockerconfigjson']) errs.push(field.required('data[.dockerconfigjson]'));
      break;
    case 'kubernetes.io/tls':
      if (!secret.data?.['tls.crt']) errs.push(field.required('data[tls.crt]'));
      if (!secret.data?.['tls.key']) errs.push(field.required('data[tls.key]'));
      break;
    case 'kubernetes.io/basic-auth':
      break;
    default:
      break;
  }
  return errs;
}

export const secrets: ResourceDef<Secret> = resource<Secret>({
  resource: 'secrets',
  kind: 'Secret',
  namespaced: true,
  selectableFields: (s) => ({ type: s.type ?? '' }),
  defaults: (s) => {
    s.type ||= 'Opaque';
    if (s.stringData) {
      // stringData is write-only: merged into data, never stored
      const data = (s.data ??= {});
      for (const [k, v] of Object.entries(s.stringData)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
      delete s.stringData;
    }
  },
  ...metaValidation<Secret>(true, isDNS1123Subdomain, validateSecret, (s, old) => [
    ...((s.type ?? 'Opaque') !== (old.type ?? 'Opaque') ? [field.invalid('type', s.type, 'field is immutable')] : []),
    ...immutableDataErrors(s, old, ['data']),
  ]),
  table: {
    columns: [
      nameColumn,
      { name: 'Type', type: 'string', description: 'Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types', priority: 0 },
      { name: 'Data', type: 'string', description: 'Data contains the secret data. Each key must consist of alphanumeric characters, \'-\', \'_\' or \'.\'.', priority: 0 },
      ageColumn,
    ],
    cells: (s, now) => [s.metadata?.name, s.type ?? 'Opaque', Object.keys(s.data ?? {}).length, age(s.metadata?.creationTimestamp, now)],
  },
});

export const configMaps: ResourceDef<ConfigMap> = resource<ConfigMap>({
  resource: 'configmaps',
  kind: 'ConfigMap',
  namespaced: true,
  shortNames: ['cm'],
  ...metaValidation<ConfigMap>(
    true,
    isDNS1123Subdomain,
    (cm) => {
      const errs = [...validateConfigMapKeys(cm.data, 'data'), ...validateConfigMapKeys(cm.binaryData, 'binaryData')];
      for (const k of Object.keys(cm.data ?? {})) {
        if (cm.binaryData && k in cm.binaryData) errs.push(field.invalid('data', k, 'duplicate of key present in binaryData'));
      }
      let size = 0;
      for (const v of Object.values(cm.data ?? {})) size += Buffer.byteLength(String(v));
      for (const v of Object.values(cm.binaryData ?? {})) size += Buffer.byteLength(String(v), 'base64');
      if (size > SECRET_SIZE_LIMIT) errs.push(field.tooLong('', '', SECRET_SIZE_LIMIT));
      return errs;
    },
    (cm, old) => immutableDataErrors(cm, old, ['data', 'binaryData']),
  ),
  table: {
    columns: [
      nameColumn,
      { name: 'Data', type: 'string', description: "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.", priority: 0 },
      ageColumn,
    ],
    cells: (cm, now) => [
      cm.metadata?.name,
      Object.keys(cm.data ?? {}).length + Object.keys(cm.binaryData ?? {}).length,
      age(cm.metadata?.creationTimestamp, now),
    ],
  },
});

function eventObject(e: Event): string {
  const io = e.involvedObject;
  return `${(io?.kind ?? '').toLowerCase()}/${io?.name ?? ''}`;
}

export const events: ResourceDef<Event> = resource<Event>({
  resource: 'events',
  kind: 'Event',
  namespaced: true,
  shortNames: ['ev'],
  ttlSeconds: 3600,
  selectableFields: (e) => ({
    'involvedObject.kind': e.involvedObject?.kind ?? '',
    'involvedObject.namespace': e.involvedObject?.namespace ?? '',
    'involvedObject.name': e.involvedObject?.name ?? '',
    'involvedObject.uid': e.involvedObject?.uid ?? '',
    'involvedObject.apiVersion': e.involvedObject?.apiVersion ?? '',
    'involvedObject.resourceVersion': e.involvedObject?.resourceVersion ?? '',
    'involvedObject.fieldPath': e.involvedObject?.fieldPath ?? '',
    reason: e.reason ?? '',
    reportingComponent: e.reportingComponent ?? '',
    source: e.source?.component ?? '',
    type: e.type ?? '',
  }),
  ...metaValidation<Event>(true, isDNS1123Subdomain, (e) => {
    const errs: FieldError[] = [];
    const ns = e.involvedObject?.namespace;
    if (ns && ns !== e.metadata?.namespace) {
      errs.push(field.invalid('involvedObject.namespace', ns, 'does not match event.namespace'));
    }
    if (e.type && !['Normal', 'Warning'].includes(e.type)) errs.push(field.notSupported('type', e.type, ['Normal', 'Warning']));
    return errs;
  }),
  table: {
    columns: [
      { name: 'Last Seen', type: 'string', description: 'The time at which the most recent occurrence of this event was recorded.', priority: 0 },
      { name: 'Type', type: 'string', description: 'Type of this event (Normal, Warning), new types could be added in the future.', priority: 0 },
      { name: 'Reason', type: 'string', description: "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.", priority: 0 },
      { name: 'Object', type: 'string', description: 'The object that this event is about.', priority: 0 },
      { name: 'Subobject', type: 'string', description: 'The subobject that this event is about.', priority: 1 },
      { name: 'Source', type: 'string', description: 'The component reporting this event. Should be a short machine understandable string.', priority: 1 },
      { name: 'Message', type: 'string', description: 'A human-readable description of the status of this operation.', priority: 0 },
      { name: 'First Seen', type: 'string', description: 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)', priority: 1 },
      { name: 'Count', type: 'string', description: 'The number of times this event has occurred.', priority: 1 },
      { name: 'Name', type: 'string', description: nameColumn.description, priority: 1 },
    ],
    cells: (e, now) => {
      const last = e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp;
      const first = e.firstTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp;
      const source = e.source?.component ? [e.source.component, e.source.host].filter(Boolean).join(', ') : (e.reportingComponent ?? '');
      return [
        age(last ?? undefined, now),
        e.type ?? '',
        e.reason ?? '',
        eventObject(e),
        e.involvedObject?.fieldPath ?? '',
        source,
        (e.message ?? '').trim(),
        age(first ?? undefined, now),
        String(e.count ?? 1),
        e.metadata?.name,
      ];
    },
  },
});

export const coreResources = [namespaces, serviceAccounts, pods, nodes, secrets, configMaps, events] as ResourceDef<KubeObject>[];

/** Names of RBAC objects may be any path segment. */
export { isValidPathSegmentName };
