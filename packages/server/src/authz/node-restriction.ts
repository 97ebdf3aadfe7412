/**
 * The NodeRestriction admission plugin (plugin/pkg/admission/noderestriction/admission.go), as a pure
 * check run on writes after authorization: a node (`system:node:<name>` in `system:nodes`) may only
 *  - create mirror pods bound to itself that reference no other objects, and delete pods bound to it,
 *  - update the status of, or evict, pods bound to it,
 *  - create/update its own Node (not its taints, configSource, or restricted labels),
 *  - request tokens bound to a pod (uid given) that is scheduled on it,
 *  - write its own Lease in kube-node-lease and its own CSINode,
 *  - update only status.capacity/conditions of PVCs.
 * Violations throw 403 Forbidden with Kubernetes' messages.
 */
import { forbidden, goQuote, notFound } from '@boundtoken/api';
import type { KubeObject, Node, Pod, StatusError, TokenRequest } from '@boundtoken/api';
import type { AuthorizationAttributes } from '../auth/types.js';
import type { ObjectCache } from '../cache/types.js';
import { nodeIdentity, NODE_LEASE_NAMESPACE } from './node-authorizer.js';
import { MIRROR_POD_ANNOTATION, podConfigMapNames, podSecretNames } from './pod-references.js';

/**
 * Where the plugin reads existing pods and nodes: the informer caches (typed or generic; `namespace`
 * is '' for nodes).
 */
export interface NodeRestrictionLookup {
  pods: Pick<ObjectCache, 'get'>;
  nodes: Pick<ObjectCache, 'get'>;
}

export interface NodeRestriction {
  /**
   * Throws a StatusError (403, or 404 when a referenced pod or node is missing) if a node may not make
   * this write. `obj` is the new object (the TokenRequest, Eviction, … for subresources), `old` the
   * stored one on update. Requests from other users, and reads, pass.
   */
  admit(attrs: AuthorizationAttributes, obj: KubeObject | undefined, old: KubeObject | undefined, lookup: NodeRestrictionLookup): void;
}

type Operation = 'CREATE' | 'UPDATE' | 'DELETE';

function operationOf(verb: string): Operation | undefined {
  switch (verb) {
    case 'create':
      return 'CREATE';
    case 'update':
    case 'patch':
      return 'UPDATE';
    case 'delete':
    case 'deletecollection':
      return 'DELETE';
    default:
      return undefined;
  }
}

const LABEL_NAMESPACE_NODE_RESTRICTION = 'node-restriction.kubernetes.io';
const KUBELET_LABELS = new Set([
  'kubernetes.io/hostname',
  'topology.kubernetes.io/zone',
  'topology.kubernetes.io/region',
  'failure-domain.beta.kubernetes.io/zone',
  'failure-domain.beta.kubernetes.io/region',
  'beta.kubernetes.io/instance-type',
  'node.kubernetes.io/instance-type',
  'kubernetes.io/os',
  'kubernetes.io/arch',
  'beta.kubernetes.io/os',
  'beta.kubernetes.io/arch',
]);
const KUBELET_LABEL_NAMESPACES = ['kubelet.kubernetes.io', 'node.kubernetes.io'];

function labelNamespace(key: string): string {
  const slash = key.indexOf('/');
  return slash < 0 ? '' : key.slice(0, slash);
}

const inNamespace = (ns: string, domain: string): boolean => ns === domain || ns.endsWith(`.${domain}`);

function isKubeletLabel(key: string): boolean {
  if (KUBELET_LABELS.has(key)) return true;
  const ns = labelNamespace(key);
  return KUBELET_LABEL_NAMESPACES.some((allowed) => inNamespace(ns, allowed));
}

function isKubernetesLabel(key: string): boolean {
  const ns = labelNamespace(key);
  return inNamespace(ns, 'kubernetes.io') || inNamespace(ns, 'k8s.io');
}

function modifiedLabels(a: Record<string, string> = {}, b: Record<string, string> = {}): string[] {
  const keys = new Set<string>();
  for (const [k, v] of Object.entries(a)) if (!Object.prototype.hasOwnProperty.call(b, k) || b[k] !== v) keys.add(k);
  for (const [k, v] of Object.entries(b)) if (!Object.prototype.hasOwnProperty.call(a, k) || a[k] !== v) keys.add(k);
  return [...keys];
}

function forbiddenLabels(keys: readonly string[]): string[] {
  return keys
    .filter((k) => inNamespace(labelNamespace(k), LABEL_NAMESPACE_NODE_RESTRICTION) || (isKubernetesLabel(k) && !isKubeletLabel(k)))
    .sort();
}

/** Equality of JSON values where absent, null, [] and {} are the same. */
function semanticEqual(a: unknown, b: unknown): boolean {
  const empty = (v: unknown): boolean =>
    v === undefined || v === null || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && Object.keys(v as object).length === 0);
  if (empty(a) && empty(b)) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => semanticEqual(v, b[i]));
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) if (!semanticEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
    return true;
  }
  return a === b;
}

interface ResourceClaimStatus {
  name?: string;
  resourceClaimName?: string;
}

function claimStatusesEqual(a: ResourceClaimStatus[] = [], b: ResourceClaimStatus[] = []): boolean {
  return a.length === b.length && a.every((s, i) => s.name === b[i]!.name && (s.resourceClaimName ?? null) === (b[i]!.resourceClaimName ?? null));
}

export function createNodeRestriction(): NodeRestriction {
  return {
    admit(attrs, obj, old, lookup): void {
      const { isNode, nodeName } = nodeIdentity(attrs.user);
      if (!isNode) return;
      const op = operationOf(attrs.verb);
      if (!op || !attrs.resourceRequest) return;

      const gr = { group: attrs.apiGroup, resource: attrs.resource };
      const objName = obj?.metadata?.name || obj?.metadata?.generateName || '';
      const deny = (message: string): StatusError => forbidden(gr, attrs.name || objName || 'Unknown', message);
      const node = goQuote(nodeName);

      if (!nodeName) throw deny(`could not determine node from user ${goQuote(attrs.user.name)}`);

      const getPod = (name: string): Pod => {
        const pod = lookup.pods.get(attrs.namespace, name) as Pod | undefined;
        if (!pod) throw notFound({ group: '', resource: 'pod' }, name);
        return pod;
      };

      switch (`${attrs.apiGroup}/${attrs.resource}`) {
        case '/pods':
          switch (attrs.subresource) {
            case '':
              return admitPod();
            case 'status':
              return admitPodStatus();
            case 'eviction':
              return admitEviction();
            default:
              throw deny(`unexpected pod subresource ${goQuote(attrs.subresource)}, only 'status' and 'eviction' are allowed`);
          }
        case '/nodes':
          return admitNode();
        case '/persistentvolumeclaims':
          if (attrs.subresource === 'status') return admitPvcStatus();
          throw deny('may only update PVC status');
        case '/serviceaccounts':
          return admitServiceAccount();
        case 'coordination.k8s.io/leases':
          return admitNamedObject('node lease', true);
        case 'storage.k8s.io/csinodes':
          return admitNamedObject('CSINode', false);
        default:
          return;
      }

      function admitPod(): void {
        if (op === 'CREATE') return admitMirrorPodCreate();
        if (op === 'DELETE') {
          const existing = getPod(attrs.name);
          if (existing.spec?.nodeName !== nodeName) throw deny(`node ${node} can only delete pods with spec.nodeName set to itself`);
          return;
        }
        throw deny(`unexpected operation ${goQuote(op!)}, node ${node} can only create and delete mirror pods`);
      }

      function admitMirrorPodCreate(): void {
        const pod = obj as Pod | undefined;
        if (!pod || typeof pod !== 'object') throw deny(`unexpected type ${typeof pod}`);
        if (!Object.prototype.hasOwnProperty.call(pod.metadata?.annotations ?? {}, MIRROR_POD_ANNOTATION)) {
          throw deny(`pod does not have ${goQuote(MIRROR_POD_ANNOTATION)} annotation, node ${node} can only create mirror pods`);
        }
        if (pod.spec?.nodeName !== nodeName) throw deny(`node ${node} can only create pods with spec.nodeName set to itself`);
        const owners = pod.metadata?.ownerReferences ?? [];
        if (owners.length > 1) throw deny(`node ${node} can only create pods with a single owner reference set to itself`);
        if (owners.length === 0) throw deny(`node ${node} can only create pods with an owner reference set to itself`);
        const owner = owners[0]!;
        if (owner.apiVersion !== 'v1' || owner.kind !== 'Node' || owner.name !== nodeName) {
          throw deny(`node ${node} can only create pods with an owner reference set to itself`);
        }
        if (owner.controller !== true) throw deny(`node ${node} can only create pods with a controller owner reference set to itself`);
        if (owner.blockOwnerDeletion === true) throw deny(`node ${node} must not set blockOwnerDeletion on an owner reference`);
        const self = lookup.nodes.get('', nodeName) as Node | undefined;
        if (!self) throw notFound({ group: '', resource: 'node' }, nodeName);
        if (owner.uid !== self.metadata?.uid) {
          throw deny(`node ${nodeName} UID mismatch: expected ${owner.uid} got ${self.metadata?.uid ?? ''}`);
        }
        if (pod.spec?.serviceAccountName) throw deny(`node ${node} can not create pods that reference a service account`);
        if (podSecretNames(pod).length > 0) throw deny(`node ${node} can not create pods that reference secrets`);
        if (podConfigMapNames(pod).length > 0) throw deny(`node ${node} can not create pods that reference configmaps`);
        for (const v of pod.spec?.volumes ?? []) {
          for (const s of v.projected?.sources ?? []) {
            if ((s as { clusterTrustBundle?: unknown }).clusterTrustBundle) {
              throw deny(`node ${node} can not create pods that reference clustertrustbundles`);
            }
          }
        }
        for (const v of pod.spec?.volumes ?? []) {
          if (v.persistentVolumeClaim) throw deny(`node ${node} can not create pods that reference persistentvolumeclaims`);
        }
      }

      function admitPodStatus(): void {
        if (op !== 'UPDATE') throw deny(`unexpected operation ${goQuote(op!)}`);
        const oldPod = old as Pod | undefined;
        const newPod = obj as Pod | undefined;
        if (!oldPod) throw deny(`unexpected type ${typeof oldPod}`);
        if (oldPod.spec?.nodeName !== nodeName) {
          throw deny(`node ${node} can only update pod status for pods with spec.nodeName set to itself`);
        }
        if (!newPod) throw deny(`unexpected type ${typeof newPod}`);
        if (!semanticEqual(oldPod.metadata?.labels, newPod.metadata?.labels)) {
          throw deny(`node ${node} cannot update labels through pod status`);
        }
        const statuses = (p: Pod): ResourceClaimStatus[] | undefined =>
          (p.status as { resourceClaimStatuses?: ResourceClaimStatus[] } | undefined)?.resourceClaimStatuses;
        if (!claimStatusesEqual(statuses(oldPod), statuses(newPod))) throw deny(`node ${node} cannot update resource claim statues`);
      }

      function admitEviction(): void {
        if (op !== 'CREATE') throw deny(`unexpected operation ${op}`);
        const podName = attrs.name || obj?.metadata?.name || '';
        if (!podName) throw deny('could not determine pod from request data');
        if (getPod(podName).spec?.nodeName !== nodeName) {
          throw deny(`node ${nodeName} can only evict pods with spec.nodeName set to itself`);
        }
      }

      function admitPvcStatus(): void {
        if (op !== 'UPDATE') throw deny(`unexpected operation ${goQuote(op!)}`);
        const strip = (o: KubeObject | undefined): unknown => {
          const { metadata = {}, status = {}, ...rest } = (o ?? {}) as KubeObject & { status?: Record<string, unknown> };
          const { resourceVersion: _rv, managedFields: _mf, ...meta } = metadata;
          const {
            capacity: _c,
            conditions: _co,
            allocatedResources: _ar,
            allocatedResourceStatuses: _ars,
            ...restStatus
          } = status as Record<string, unknown>;
          return { ...rest, metadata: meta, status: restStatus };
        };
        const before = strip(old);
        const after = strip(obj);
        if (!semanticEqual(before, after)) {
          throw deny(
            `node ${node} is not allowed to update fields other than status.capacity and status.conditions: ` +
              `${JSON.stringify(before)} != ${JSON.stringify(after)}`,
          );
        }
      }

      function admitNode(): void {
        const requested = attrs.name || objName;
        if (requested !== nodeName) throw deny(`node ${node} is not allowed to modify node ${goQuote(requested)}`);
        const n = obj as Node | undefined;
        if (op === 'CREATE') {
          if (!n) throw deny(`unexpected type ${typeof n}`);
          if (n.spec?.configSource) throw deny(`node ${node} is not allowed to create pods with a non-nil configSource`);
          const bad = forbiddenLabels(modifiedLabels(n.metadata?.labels, undefined));
          if (bad.length > 0) throw deny(`node ${node} is not allowed to set the following labels: ${bad.join(', ')}`);
        }
        if (op === 'UPDATE') {
          const o = old as Node | undefined;
          if (!n || !o) throw deny(`unexpected type ${typeof n}`);
          if (n.spec?.configSource && !semanticEqual(n.spec.configSource, o.spec?.configSource)) {
            throw deny(`node ${node} is not allowed to update configSource to a new non-nil configSource`);
          }
          if (!semanticEqual(n.spec?.taints, o.spec?.taints)) throw deny(`node ${node} is not allowed to modify taints`);
          const bad = forbiddenLabels(modifiedLabels(n.metadata?.labels, o.metadata?.labels));
          if (bad.length > 0) throw deny(`is not allowed to modify labels: ${bad.join(', ')}`);
        }
      }

      function admitServiceAccount(): void {
        if (op !== 'CREATE' || attrs.subresource !== 'token') return;
        const ref = (obj as TokenRequest | undefined)?.spec?.boundObjectRef;
        if (!ref || ref.apiVersion !== 'v1' || ref.kind !== 'Pod' || !ref.name) throw deny('node requested token not bound to a pod');
        if (!ref.uid) throw deny('node requested token with a pod binding without a uid');
        const pod = getPod(ref.name);
        if (ref.uid !== pod.metadata?.uid) {
          throw deny(
            `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
          );
        }
        if (pod.spec?.nodeName !== nodeName) throw deny('node requested token bound to a pod scheduled on a different node');
      }

      function admitNamedObject(what: 'node lease' | 'CSINode', leaseNamespace: boolean): void {
        if (leaseNamespace && attrs.namespace !== NODE_LEASE_NAMESPACE) {
          throw deny(`can only access leases in the ${goQuote(NODE_LEASE_NAMESPACE)} system namespace`);
        }
        const name = op === 'CREATE' ? (obj?.metadata?.name ?? '') : attrs.name;
        if (name !== nodeName) throw deny(`can only access ${what} with the same name as the requesting node`);
      }
    },
  };
}
