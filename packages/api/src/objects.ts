/**
 * The Kubernetes objects boundtoken serves. The shapes are the upstream ones
 * (kubernetes-types, generated from the Kubernetes OpenAPI); this module names them in one place.
 */
import type { ObjectMeta as K8sObjectMeta } from 'kubernetes-types/meta/v1.js';
import type { Namespace as K8sNamespace, ServiceAccount as K8sServiceAccount, Pod as K8sPod, Node as K8sNode, Secret as K8sSecret, ConfigMap as K8sConfigMap, Event as K8sEvent } from 'kubernetes-types/core/v1.js';
import type { BoundObjectReference as K8sBoundObjectReference, TokenRequest as K8sTokenRequest, TokenRequestSpec as K8sTokenRequestSpec, TokenReview as K8sTokenReview, SelfSubjectReview as K8sSelfSubjectReview } from 'kubernetes-types/authentication/v1.js';
import type { Role as K8sRole, ClusterRole as K8sClusterRole, RoleBinding as K8sRoleBinding, ClusterRoleBinding as K8sClusterRoleBinding } from 'kubernetes-types/rbac/v1.js';
import type { SubjectAccessReview as K8sSubjectAccessReview, SelfSubjectAccessReview as K8sSelfSubjectAccessReview, SelfSubjectRulesReview as K8sSelfSubjectRulesReview } from 'kubernetes-types/authorization/v1.js';
import type { Lease as K8sLease } from 'kubernetes-types/coordination/v1.js';

export type {
  ListMeta,
  OwnerReference,
  Status,
  StatusCause,
  StatusDetails,
  Time,
  ManagedFieldsEntry,
  APIResource,
  APIResourceList,
  APIGroup,
  APIGroupList,
  APIVersions,
  Condition,
} from 'kubernetes-types/meta/v1.js';
export type {
  PodSpec,
  PodStatus,
  PodCondition,
  Container,
  ContainerStatus,
  Volume,
  VolumeMount,
  ProjectedVolumeSource,
  VolumeProjection,
  ServiceAccountTokenProjection,
  ConfigMapProjection,
  SecretProjection,
  DownwardAPIProjection,
  DownwardAPIVolumeFile,
  KeyToPath,
  NodeStatus,
  NodeCondition,
  ObjectReference,
  Taint,
  Toleration,
  NodeSpec,
  ObjectFieldSelector,
  PodSecurityContext,
} from 'kubernetes-types/core/v1.js';
export type {
  TokenRequestSpec,
  TokenRequestStatus,
  BoundObjectReference,
  TokenReviewSpec,
  TokenReviewStatus,
  UserInfo,
} from 'kubernetes-types/authentication/v1.js';
export type {
  PolicyRule,
  Subject,
  RoleRef,
  AggregationRule,
} from 'kubernetes-types/rbac/v1.js';
export type {
  ResourceAttributes,
  NonResourceAttributes,
} from 'kubernetes-types/authorization/v1.js';

/** ObjectMeta, writable (the upstream type marks server-set fields read-only; the server sets them). */
export type ObjectMeta = Writable<K8sObjectMeta>;

/** Any object the API stores: apiVersion, kind, metadata and whatever else its kind has. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [field: string]: unknown;
}

/** A stored object always has its metadata filled in by the server. */
export interface StoredObject extends KubeObject {
  metadata: ObjectMeta & { name: string; uid: string; resourceVersion: string; creationTimestamp: string };
}

/** Event types of a watch stream (`{"type","object"}` lines). */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent<T = KubeObject> {
  type: WatchEventType;
  object: T;
}

/**
 * The upstream types mark status and server-set metadata fields read-only; the server and agent
 * write them.
 */
type Writable<T> = { -readonly [K in keyof T]: K extends 'metadata' ? ObjectMeta : T[K] };

/**
 * The top-level kinds, as the upstream shapes that are also `KubeObject`s (so they fit every
 * generic store, cache and client signature).
 */
export type Namespace = Writable<K8sNamespace> & KubeObject;
export type ServiceAccount = Writable<K8sServiceAccount> & KubeObject;
export type Pod = Writable<K8sPod> & KubeObject;
export type Node = Writable<K8sNode> & KubeObject;
export type Secret = Writable<K8sSecret> & KubeObject;
export type ConfigMap = Writable<K8sConfigMap> & KubeObject;
export type Event = Writable<K8sEvent> & KubeObject;
/** `spec.boundObjectRef` is null on the wire when absent: Go has no omitempty there (kubectl 1.31 sends it too). */
export type TokenRequest = Omit<Writable<K8sTokenRequest>, 'spec'> &
  KubeObject & { spec: Omit<K8sTokenRequestSpec, 'boundObjectRef'> & { boundObjectRef?: K8sBoundObjectReference | null } };
export type TokenReview = Writable<K8sTokenReview> & KubeObject;
export type SelfSubjectReview = Writable<K8sSelfSubjectReview> & KubeObject;
export type Role = Writable<K8sRole> & KubeObject;
export type ClusterRole = Writable<K8sClusterRole> & KubeObject;
export type RoleBinding = Writable<K8sRoleBinding> & KubeObject;
export type ClusterRoleBinding = Writable<K8sClusterRoleBinding> & KubeObject;
export type SubjectAccessReview = Writable<K8sSubjectAccessReview> & KubeObject;
export type SelfSubjectAccessReview = Writable<K8sSelfSubjectAccessReview> & KubeObject;
export type SelfSubjectRulesReview = Writable<K8sSelfSubjectRulesReview> & KubeObject;
export type Lease = Writable<K8sLease> & KubeObject;
