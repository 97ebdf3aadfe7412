/**
 * The Kubernetes objects boundtoken serves. The shapes are the upstream ones
 * (kubernetes-types, generated from the Kubernetes OpenAPI); this module names them in one place.
 */
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';

export type {
  ObjectMeta,
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
  Namespace,
  ServiceAccount,
  Pod,
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
  Node,
  NodeStatus,
  NodeCondition,
  Secret,
  ConfigMap,
  Event,
  ObjectReference,
  PodSecurityContext,
} from 'kubernetes-types/core/v1.js';
export type {
  TokenRequest,
  TokenRequestSpec,
  TokenRequestStatus,
  BoundObjectReference,
  TokenReview,
  TokenReviewSpec,
  TokenReviewStatus,
  UserInfo,
  SelfSubjectReview,
} from 'kubernetes-types/authentication/v1.js';
export type {
  Role,
  ClusterRole,
  RoleBinding,
  ClusterRoleBinding,
  PolicyRule,
  Subject,
  RoleRef,
  AggregationRule,
} from 'kubernetes-types/rbac/v1.js';
export type {
  SubjectAccessReview,
  SelfSubjectAccessReview,
  SelfSubjectRulesReview,
  ResourceAttributes,
  NonResourceAttributes,
} from 'kubernetes-types/authorization/v1.js';
export type { Lease } from 'kubernetes-types/coordination/v1.js';

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
