/**
 * What the kubernetes-types declarations cannot say about the Kubernetes OpenAPI schemas, kept by
 * hand and read by scripts/gen-schemas.ts:
 *
 * - integer formats (every `number` is `int32` unless listed here as `int64`) and `byte` strings;
 * - the formats of Time/MicroTime, Quantity and IntOrString;
 * - patch strategies and merge keys (the `patchStrategy`/`patchMergeKey` struct tags), which decide
 *   how a strategic merge patch (`kubectl apply`) merges lists;
 * - list types, list map keys, map types and atomic structs (the `+listType`, `+listMapKey`,
 *   `+mapType`, `+structType` markers), which decide how server-side apply merges and owns fields;
 * - `x-kubernetes-group-version-kind` of the meta types (top-level kinds get it from their
 *   `apiVersion`/`kind` literal types);
 * - the few fields kubernetes-types 1.30 lacks, or that 1.31/1.32 added or removed and that a pod
 *   manifest written for 1.32 may use (docs/api-compatibility.md lists the rest).
 *
 * Verified against k8s.io/api core/v1 and rbac/v1 types.go and k8s.io/apimachinery meta/v1
 * types.go; integer formats cross-checked with @kubernetes/client-node's model metadata (a test does
 * that on every run). Field keys: `name` for the property, `name[]` for its items, `name{}` for its
 * map values.
 */

export interface FieldOverlay {
  format?: 'int32' | 'int64' | 'byte' | 'double';
  patchStrategy?: 'merge' | 'retainKeys' | 'merge,retainKeys' | 'replace';
  patchMergeKey?: string;
  listType?: 'atomic' | 'set' | 'map';
  listMapKeys?: string[];
  mapType?: 'atomic' | 'granular';
}

export interface TypeOverlay {
  /** Merged into the generated schema (formats of the string aliases, `x-kubernetes-map-type`, …). */
  schema?: Record<string, unknown>;
  /** `x-kubernetes-group-version-kind` for types that carry no apiVersion/kind literal. */
  gvk?: { group: string; kind: string; version: string }[];
  /** Properties kubernetes-types 1.30 lacks, as complete schemas. */
  addProperties?: Record<string, Record<string, unknown>>;
  /** Properties that are required although kubernetes-types marks them optional. */
  addRequired?: string[];
  /** Properties Kubernetes 1.32 no longer has. */
  removeProperties?: string[];
}

const CORE = 'io.k8s.api.core.v1';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const RBAC = 'io.k8s.api.rbac.v1';
const AUTHN = 'io.k8s.api.authentication.v1';
const AUTHZ = 'io.k8s.api.authorization.v1';

const atomic: FieldOverlay = { listType: 'atomic' };
const int64: FieldOverlay = { format: 'int64' };
const byteMap: FieldOverlay = { format: 'byte' };
/** `patchStrategy:"merge" patchMergeKey:"<key>"` with `+listType=map +listMapKey=<key>…`. */
function mergeMap(key: string, ...moreKeys: string[]): FieldOverlay {
  return { patchStrategy: 'merge', patchMergeKey: key, listType: 'map', listMapKeys: [key, ...moreKeys] };
}
function mergeRetainMap(key: string): FieldOverlay {
  return { patchStrategy: 'merge,retainKeys', patchMergeKey: key, listType: 'map', listMapKeys: [key] };
}
const atomicStruct: TypeOverlay = { schema: { 'x-kubernetes-map-type': 'atomic' } };

/** The GVKs of the meta types every group we serve shares (DeleteOptions, WatchEvent). */
const SERVED_GROUP_VERSIONS: [group: string, version: string][] = [
  ['', 'v1'],
  ['authentication.k8s.io', 'v1'],
  ['authentication.k8s.io', 'v1beta1'],
  ['authorization.k8s.io', 'v1'],
  ['coordination.k8s.io', 'v1'],
  ['rbac.authorization.k8s.io', 'v1'],
];
const everyGroup = (kind: string): TypeOverlay['gvk'] =>
  SERVED_GROUP_VERSIONS.map(([group, version]) => ({ group, kind, version }));

/** IntOrString is inlined as `number | string` in kubernetes-types; Kubernetes names it. */
export const INT_OR_STRING = {
  name: 'io.k8s.apimachinery.pkg.util.intstr.IntOrString',
  schema: {
    description:
      'IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number.',
    format: 'int-or-string',
    oneOf: [{ type: 'integer' }, { type: 'string' }],
  },
};

export const typeOverlays: Record<string, TypeOverlay> = {
  [`${META}.Time`]: { schema: { type: 'string', format: 'date-time' } },
  [`${META}.MicroTime`]: { schema: { type: 'string', format: 'date-time' } },
  'io.k8s.apimachinery.pkg.api.resource.Quantity': {
    schema: { type: undefined, oneOf: [{ type: 'string' }, { type: 'number' }] },
  },
  [`${META}.Status`]: { gvk: [{ group: '', kind: 'Status', version: 'v1' }] },
  [`${META}.APIResourceList`]: { gvk: [{ group: '', kind: 'APIResourceList', version: 'v1' }] },
  [`${META}.APIGroupList`]: { gvk: [{ group: '', kind: 'APIGroupList', version: 'v1' }] },
  [`${META}.APIGroup`]: { gvk: [{ group: '', kind: 'APIGroup', version: 'v1' }] },
  [`${META}.APIVersions`]: { gvk: [{ group: '', kind: 'APIVersions', version: 'v1' }] },
  [`${META}.DeleteOptions`]: { gvk: everyGroup('DeleteOptions') },
  [`${META}.WatchEvent`]: { gvk: everyGroup('WatchEvent') },
  [`${META}.LabelSelector`]: atomicStruct,
  [`${META}.OwnerReference`]: atomicStruct,
  [`${CORE}.ObjectReference`]: atomicStruct,
  [`${CORE}.LocalObjectReference`]: atomicStruct,
  [`${CORE}.TypedLocalObjectReference`]: atomicStruct,
  [`${CORE}.ObjectFieldSelector`]: atomicStruct,
  [`${CORE}.ResourceFieldSelector`]: atomicStruct,
  [`${CORE}.ConfigMapKeySelector`]: atomicStruct,
  [`${CORE}.SecretKeySelector`]: atomicStruct,
  [`${CORE}.NodeSelector`]: atomicStruct,
  [`${CORE}.NodeSelectorTerm`]: atomicStruct,
  [`${RBAC}.Subject`]: atomicStruct,
  [`${RBAC}.RoleRef`]: atomicStruct,
  // kubernetes-types 1.30 dropped these two required fields of ResourceRule
  [`${AUTHZ}.ResourceRule`]: {
    addProperties: {
      resources: {
        description:
          'Resources is a list of resources this rule applies to.  "*" means all in the specified apiGroups.\n "*/foo" represents the subresource \'foo\' for all resources in the specified apiGroups.',
        type: 'array',
        items: { type: 'string' },
        'x-kubernetes-list-type': 'atomic',
      },
      verbs: {
        description:
          'Verb is a list of kubernetes resource API verbs, like: get, list, watch, create, update, delete, proxy.  "*" means all.',
        type: 'array',
        items: { type: 'string' },
        'x-kubernetes-list-type': 'atomic',
      },
    },
    addRequired: ['verbs'],
  },
  // Kubernetes 1.31 replaced PodResourceClaim.source by these two fields
  [`${CORE}.PodResourceClaim`]: {
    removeProperties: ['source'],
    addProperties: {
      resourceClaimName: {
        description:
          'ResourceClaimName is the name of a ResourceClaim object in the same namespace as this pod.\n\nExactly one of ResourceClaimName and ResourceClaimTemplateName must be set.',
        type: 'string',
      },
      resourceClaimTemplateName: {
        description:
          'ResourceClaimTemplateName is the name of a ResourceClaimTemplate object in the same namespace as this pod.\n\nThe template will be used to create a new ResourceClaim, which will be bound to this pod. When this pod is deleted, the ResourceClaim will also be deleted. The pod name and resource name, along with a generated component, will be used to form a unique name for the ResourceClaim, which will be recorded in pod.status.resourceClaimStatuses.\n\nThis field is immutable and no changes will be made to the corresponding ResourceClaim by the control plane after creating the ResourceClaim.\n\nExactly one of ResourceClaimName and ResourceClaimTemplateName must be set.',
        type: 'string',
      },
    },
  },
  // added in 1.31 (supplementalGroupsPolicy) and 1.32 (seLinuxChangePolicy, pod-level resources)
  [`${CORE}.PodSecurityContext`]: {
    addProperties: {
      supplementalGroupsPolicy: {
        description:
          'Defines how supplemental groups of the first container processes are calculated. Valid values are "Merge" and "Strict". If not specified, "Merge" is used. (Alpha) Using the field requires the SupplementalGroupsPolicy feature gate to be enabled and the container runtime must implement support for this feature. Note that this field cannot be set when spec.os.name is windows.',
        type: 'string',
      },
      seLinuxChangePolicy: {
        description:
          'seLinuxChangePolicy defines how the container\'s SELinux label is applied to all volumes used by the Pod. It has no effect on nodes that do not support SELinux or to volumes does not support SELinux. Valid values are "MountOption" and "Recursive".\n\n"Recursive" means relabeling of all files on all Pod volumes by the container runtime. This may be slow for large volumes, but allows mixing privileged and unprivileged Pods sharing the same volume on the same node.\n\n"MountOption" mounts all eligible Pod volumes with `-o context` mount option. This requires all Pods that share the same volume to use the same SELinux label. It is not possible to share the same volume among privileged and unprivileged Pods.\n\nThis field affects only Pods that have SELinux label set, either in PodSecurityContext or in SecurityContext of all containers. Note that this field cannot be set when spec.os.name is windows.',
        type: 'string',
      },
    },
  },
  [`${CORE}.PodSpec`]: {
    addProperties: {
      resources: {
        $ref: '#/components/schemas/io.k8s.api.core.v1.ResourceRequirements',
        description:
          'Resources is the total amount of CPU and Memory resources required by all containers in the pod. It supports specifying Requests and Limits for "cpu" and "memory" resource names only. ResourceClaims are not supported.\n\nThis field enables fine-grained control over resource allocation for the entire pod, allowing resource sharing among containers in a pod.\n\nThis is an alpha field and requires enabling the PodLevelResources feature gate.',
      },
    },
  },
};

/** Containers and ephemeral containers share their list fields. */
const containerLists: Record<string, FieldOverlay> = {
  command: atomic,
  args: atomic,
  ports: mergeMap('containerPort', 'protocol'),
  envFrom: atomic,
  env: mergeMap('name'),
  resizePolicy: atomic,
  volumeMounts: mergeMap('mountPath'),
  volumeDevices: mergeMap('devicePath'),
};

export const fieldOverlays: Record<string, Record<string, FieldOverlay>> = {
  [`${META}.ObjectMeta`]: {
    generation: int64,
    deletionGracePeriodSeconds: int64,
    finalizers: { patchStrategy: 'merge', listType: 'set' },
    ownerReferences: mergeMap('uid'),
    managedFields: atomic,
  },
  [`${META}.ListMeta`]: { remainingItemCount: int64 },
  [`${META}.DeleteOptions`]: { gracePeriodSeconds: int64, dryRun: atomic },
  [`${META}.LabelSelector`]: { matchExpressions: atomic },
  [`${META}.LabelSelectorRequirement`]: { values: atomic },
  [`${META}.StatusDetails`]: { causes: atomic },

  [`${CORE}.PodSpec`]: {
    activeDeadlineSeconds: int64,
    terminationGracePeriodSeconds: int64,
    volumes: mergeRetainMap('name'),
    initContainers: mergeMap('name'),
    containers: mergeMap('name'),
    ephemeralContainers: mergeMap('name'),
    nodeSelector: { mapType: 'atomic' },
    imagePullSecrets: mergeMap('name'),
    tolerations: atomic,
    hostAliases: mergeMap('ip'),
    readinessGates: atomic,
    topologySpreadConstraints: mergeMap('topologyKey', 'whenUnsatisfiable'),
    schedulingGates: mergeMap('name'),
    resourceClaims: mergeRetainMap('name'),
  },
  [`${CORE}.Container`]: containerLists,
  [`${CORE}.EphemeralContainer`]: containerLists,
  [`${CORE}.ContainerStatus`]: { volumeMounts: mergeMap('mountPath') },
  [`${CORE}.PodStatus`]: {
    conditions: mergeMap('type'),
    hostIPs: { patchStrategy: 'merge', patchMergeKey: 'ip', listType: 'atomic' },
    podIPs: mergeMap('ip'),
    initContainerStatuses: atomic,
    containerStatuses: atomic,
    ephemeralContainerStatuses: atomic,
    resourceClaimStatuses: mergeRetainMap('name'),
  },
  [`${CORE}.PodSecurityContext`]: {
    runAsUser: int64,
    runAsGroup: int64,
    fsGroup: int64,
    supplementalGroups: atomic,
    'supplementalGroups[]': int64,
    sysctls: atomic,
  },
  [`${CORE}.SecurityContext`]: { runAsUser: int64, runAsGroup: int64 },
  [`${CORE}.Capabilities`]: { add: atomic, drop: atomic },
  [`${CORE}.ResourceRequirements`]: { claims: { listType: 'map', listMapKeys: ['name'] } },
  [`${CORE}.Probe`]: { terminationGracePeriodSeconds: int64 },
  [`${CORE}.SleepAction`]: { seconds: int64 },
  [`${CORE}.ExecAction`]: { command: atomic },
  [`${CORE}.HTTPGetAction`]: { httpHeaders: atomic },
  [`${CORE}.Toleration`]: { tolerationSeconds: int64 },
  [`${CORE}.TopologySpreadConstraint`]: { matchLabelKeys: atomic },
  [`${CORE}.HostAlias`]: { hostnames: atomic },
  [`${CORE}.PodDNSConfig`]: { nameservers: atomic, searches: atomic, options: atomic },
  [`${CORE}.PodAffinity`]: {
    requiredDuringSchedulingIgnoredDuringExecution: atomic,
    preferredDuringSchedulingIgnoredDuringExecution: atomic,
  },
  [`${CORE}.PodAntiAffinity`]: {
    requiredDuringSchedulingIgnoredDuringExecution: atomic,
    preferredDuringSchedulingIgnoredDuringExecution: atomic,
  },
  [`${CORE}.PodAffinityTerm`]: { namespaces: atomic, matchLabelKeys: atomic, mismatchLabelKeys: atomic },
  [`${CORE}.NodeAffinity`]: { preferredDuringSchedulingIgnoredDuringExecution: atomic },
  [`${CORE}.NodeSelector`]: { nodeSelectorTerms: atomic },
  [`${CORE}.NodeSelectorTerm`]: { matchExpressions: atomic, matchFields: atomic },
  [`${CORE}.NodeSelectorRequirement`]: { values: atomic },
  [`${CORE}.ProjectedVolumeSource`]: { sources: atomic },
  [`${CORE}.ServiceAccountTokenProjection`]: { expirationSeconds: int64 },
  [`${CORE}.SecretVolumeSource`]: { items: atomic },
  [`${CORE}.SecretProjection`]: { items: atomic },
  [`${CORE}.ConfigMapVolumeSource`]: { items: atomic },
  [`${CORE}.ConfigMapProjection`]: { items: atomic },
  [`${CORE}.DownwardAPIVolumeSource`]: { items: atomic },
  [`${CORE}.DownwardAPIProjection`]: { items: atomic },
  [`${CORE}.RBDVolumeSource`]: { monitors: atomic },
  [`${CORE}.CephFSVolumeSource`]: { monitors: atomic },
  [`${CORE}.ISCSIVolumeSource`]: { portals: atomic },
  [`${CORE}.FCVolumeSource`]: { targetWWNs: atomic, wwids: atomic },
  [`${CORE}.PersistentVolumeClaimSpec`]: { accessModes: atomic },
  [`${CORE}.ServiceAccount`]: { secrets: mergeMap('name'), imagePullSecrets: atomic },
  [`${CORE}.NodeSpec`]: { podCIDRs: { patchStrategy: 'merge', listType: 'set' }, taints: atomic },
  [`${CORE}.NodeStatus`]: {
    conditions: mergeMap('type'),
    addresses: mergeMap('type'),
    images: atomic,
    volumesInUse: atomic,
    volumesAttached: atomic,
    runtimeHandlers: atomic,
  },
  [`${CORE}.ContainerImage`]: { names: atomic, sizeBytes: int64 },
  [`${CORE}.NamespaceSpec`]: { finalizers: atomic },
  [`${CORE}.NamespaceStatus`]: { conditions: mergeMap('type') },
  [`${CORE}.Secret`]: { 'data{}': byteMap },
  [`${CORE}.ConfigMap`]: { 'binaryData{}': byteMap },

  [`${RBAC}.PolicyRule`]: {
    apiGroups: atomic,
    resources: atomic,
    resourceNames: atomic,
    nonResourceURLs: atomic,
    verbs: atomic,
  },
  [`${RBAC}.Role`]: { rules: atomic },
  [`${RBAC}.ClusterRole`]: { rules: atomic },
  [`${RBAC}.RoleBinding`]: { subjects: atomic },
  [`${RBAC}.ClusterRoleBinding`]: { subjects: atomic },
  [`${RBAC}.AggregationRule`]: { clusterRoleSelectors: atomic },

  [`${AUTHN}.TokenRequestSpec`]: { audiences: atomic, expirationSeconds: int64 },
  [`${AUTHN}.TokenReviewSpec`]: { audiences: atomic },
  [`${AUTHN}.TokenReviewStatus`]: { audiences: atomic },
  [`${AUTHN}.UserInfo`]: { groups: atomic },
  [`${AUTHZ}.SubjectAccessReviewSpec`]: { groups: atomic },
  [`${AUTHZ}.ResourceRule`]: { apiGroups: atomic, resourceNames: atomic },
  [`${AUTHZ}.NonResourceRule`]: { verbs: atomic, nonResourceURLs: atomic },
  [`${AUTHZ}.SubjectRulesReviewStatus`]: { resourceRules: atomic, nonResourceRules: atomic },
};
