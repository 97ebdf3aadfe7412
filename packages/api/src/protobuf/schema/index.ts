import { AUTH_PROTO } from './auth.js';
import { CORE_PROTO } from './core.js';
import { META_PROTO } from './meta.js';
import { POD_PROTO } from './pod.js';
import { RBAC_PROTO } from './rbac.js';

/** Every .proto source of the codec, one package each. */
export const PROTO_SOURCES: readonly string[] = [...META_PROTO, ...AUTH_PROTO, ...RBAC_PROTO, ...CORE_PROTO, ...POD_PROTO];

const AUTHN = 'authentication.k8s.io/v1';
const AUTHZ = 'authorization.k8s.io/v1';
const RBAC = 'rbac.authorization.k8s.io/v1';
const COORD = 'coordination.k8s.io/v1';

/** [apiVersion, kind, message] for every object the codec decodes. */
export const KIND_MESSAGES: ReadonlyArray<readonly [apiVersion: string, kind: string, message: string]> = [
  ['v1', 'Namespace', 'core.v1.Namespace'],
  ['v1', 'ServiceAccount', 'core.v1.ServiceAccount'],
  ['v1', 'Secret', 'core.v1.Secret'],
  ['v1', 'ConfigMap', 'core.v1.ConfigMap'],
  ['v1', 'Event', 'core.v1.Event'],
  ['v1', 'Node', 'core.v1.Node'],
  ['v1', 'Pod', 'core.v1.Pod'],
  [AUTHN, 'TokenRequest', 'authentication.v1.TokenRequest'],
  [AUTHN, 'TokenReview', 'authentication.v1.TokenReview'],
  [AUTHN, 'SelfSubjectReview', 'authentication.v1.SelfSubjectReview'],
  ['authentication.k8s.io/v1beta1', 'SelfSubjectReview', 'authentication.v1.SelfSubjectReview'],
  [AUTHZ, 'SubjectAccessReview', 'authorization.v1.SubjectAccessReview'],
  [AUTHZ, 'LocalSubjectAccessReview', 'authorization.v1.LocalSubjectAccessReview'],
  [AUTHZ, 'SelfSubjectAccessReview', 'authorization.v1.SelfSubjectAccessReview'],
  [AUTHZ, 'SelfSubjectRulesReview', 'authorization.v1.SelfSubjectRulesReview'],
  [RBAC, 'Role', 'rbac.v1.Role'],
  [RBAC, 'ClusterRole', 'rbac.v1.ClusterRole'],
  [RBAC, 'RoleBinding', 'rbac.v1.RoleBinding'],
  [RBAC, 'ClusterRoleBinding', 'rbac.v1.ClusterRoleBinding'],
  [COORD, 'Lease', 'coordination.v1.Lease'],
  // DeleteOptions is registered in every group version (client-go sends it in the resource's version).
  ...['meta.k8s.io/v1', 'v1', AUTHN, 'authentication.k8s.io/v1beta1', AUTHZ, RBAC, COORD].map(
    (apiVersion) => [apiVersion, 'DeleteOptions', 'meta.v1.DeleteOptions'] as const,
  ),
];
