/**
 * The Kubernetes 1.32 bootstrap RBAC policy users rely on (plugin/pkg/auth/authorizer/rbac/
 * bootstrappolicy/policy.go and namespace_policy.go): the user-facing roles (cluster-admin,
 * admin/edit/view through the system:aggregate-to-* roles), the discovery roles, the delegation roles
 * and system:node, with their default bindings. Controller roles of the kube-controller-manager are left
 * out: no such controllers run against this server.
 *
 * Rule lists are sorted as Kubernetes' rule builder sorts them. Every call returns fresh objects.
 */
import type { ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, Subject } from '@boundtoken/api';
import {
  GROUP_AUTHENTICATED,
  GROUP_MASTERS,
  GROUP_SERVICE_ACCOUNTS,
  GROUP_UNAUTHENTICATED,
} from '../auth/types.js';
import { OIDC_CONFIGURATION_PATHS, OIDC_JWKS_PATHS } from '../tokens/oidc.js';
import { RBAC_GROUP } from './rbac.js';

export const BOOTSTRAPPING_LABEL = 'kubernetes.io/bootstrapping';
export const BOOTSTRAPPING_VALUE = 'rbac-defaults';
export const AUTO_UPDATE_ANNOTATION = 'rbac.authorization.kubernetes.io/autoupdate';
export const AGGREGATE_TO_ADMIN = 'rbac.authorization.k8s.io/aggregate-to-admin';
export const AGGREGATE_TO_EDIT = 'rbac.authorization.k8s.io/aggregate-to-edit';
export const AGGREGATE_TO_VIEW = 'rbac.authorization.k8s.io/aggregate-to-view';

const RBAC_V1 = `${RBAC_GROUP}/v1` as const;
const read = ['get', 'list', 'watch'];
const write = ['create', 'delete', 'deletecollection', 'patch', 'update'];
const readWrite = [...read, ...write];

const sorted = (list: readonly string[]): string[] => [...list].sort();

/** A resource rule, lists sorted, fields in Kubernetes' order. */
function rule(verbs: string[], apiGroups: string[], resources: string[], resourceNames?: string[]): PolicyRule {
  const r: PolicyRule = { verbs: sorted(verbs), apiGroups: sorted(apiGroups), resources: sorted(resources) };
  if (resourceNames) r.resourceNames = sorted(resourceNames);
  return r;
}

function urls(verbs: string[], nonResourceURLs: string[]): PolicyRule {
  return { verbs: sorted(verbs), nonResourceURLs: sorted(nonResourceURLs) };
}

const eventsRule = (): PolicyRule => rule(['create', 'update', 'patch'], ['', 'events.k8s.io'], ['events']);

/**
 * The rules of `system:node`, which the Node authorizer also applies to requests it does not subdivide
 * (bootstrappolicy.NodeRules with 1.32's default feature gates).
 */
export function nodeRules(): PolicyRule[] {
  return [
    rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
    rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews', 'localsubjectaccessreviews']),
    rule(read, [''], ['services']),
    rule(['create', 'get', 'list', 'watch'], [''], ['nodes']),
    rule(['update', 'patch'], [''], ['nodes/status']),
    rule(['update', 'patch'], [''], ['nodes']),
    rule(['create', 'update', 'patch'], [''], ['events']),
    rule(read, [''], ['pods']),
    rule(['create', 'delete'], [''], ['pods']),
    rule(['update', 'patch'], [''], ['pods/status']),
    rule(['create'], [''], ['pods/eviction']),
    rule(['get', 'list', 'watch'], [''], ['secrets', 'configmaps']),
    rule(['get'], [''], ['persistentvolumeclaims', 'persistentvolumes']),
    rule(['get'], [''], ['endpoints']),
    rule(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests']),
    rule(['get', 'create', 'update', 'patch', 'delete'], ['coordination.k8s.io'], ['leases']),
    rule(['get'], ['storage.k8s.io'], ['volumeattachments']),
    rule(['create'], [''], ['serviceaccounts/token']),
    rule(['get', 'update', 'patch'], [''], ['persistentvolumeclaims/status']),
    rule(['get', 'watch', 'list'], ['storage.k8s.io'], ['csidrivers']),
    rule(['get', 'create', 'update', 'patch', 'delete'], ['storage.k8s.io'], ['csinodes']),
    rule(['get', 'list', 'watch'], ['node.k8s.io'], ['runtimeclasses']),
  ];
}

function meta(name: string, extraLabels: Record<string, string> = {}, namespace?: string) {
  return {
    name,
    ...(namespace ? { namespace } : {}),
    labels: { [BOOTSTRAPPING_LABEL]: BOOTSTRAPPING_VALUE, ...extraLabels },
    annotations: { [AUTO_UPDATE_ANNOTATION]: 'true' },
  };
}

function clusterRole(name: string, rules: PolicyRule[], extraLabels?: Record<string, string>): ClusterRole {
  return { apiVersion: RBAC_V1, kind: 'ClusterRole', metadata: meta(name, extraLabels), rules };
}

function aggregatedClusterRole(name: string, aggregateLabel: string, extraLabels?: Record<string, string>): ClusterRole {
  return {
    apiVersion: RBAC_V1,
    kind: 'ClusterRole',
    metadata: meta(name, extraLabels),
    aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [aggregateLabel]: 'true' } }] },
  };
}

const group = (name: string): Subject => ({ kind: 'Group', apiGroup: RBAC_GROUP, name });
const user = (name: string): Subject => ({ kind: 'User', apiGroup: RBAC_GROUP, name });

function clusterBinding(name: string, subjects: Subject[], roleName = name): ClusterRoleBinding {
  return {
    apiVersion: RBAC_V1,
    kind: 'ClusterRoleBinding',
    metadata: meta(name),
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: roleName },
    ...(subjects.length > 0 ? { subjects } : {}),
  };
}

export interface BootstrapPolicy {
  clusterRoles: ClusterRole[];
  clusterRoleBindings: ClusterRoleBinding[];
  roles: Role[];
  roleBindings: RoleBinding[];
}

export interface BootstrapPolicyOptions {
  /**
   * Also let unauthenticated clients read the OIDC discovery documents (a ClusterRoleBinding
   * `boundtoken:service-account-issuer-discovery:unauthenticated` of
   * `system:service-account-issuer-discovery` to `system:unauthenticated`). Kubernetes leaves this to
   * the administrator; it only has an effect when anonymous authentication is on.
   */
  unauthenticatedIssuerDiscovery?: boolean;
}

export const UNAUTHENTICATED_ISSUER_DISCOVERY_BINDING = 'boundtoken:service-account-issuer-discovery:unauthenticated';

export function bootstrapPolicy(options: BootstrapPolicyOptions = {}): BootstrapPolicy {
  const clusterRoles: ClusterRole[] = [
    clusterRole('cluster-admin', [rule(['*'], ['*'], ['*']), urls(['*'], ['*'])]),
    clusterRole('system:discovery', [
      urls(['get'], ['/livez', '/readyz', '/healthz', '/version', '/version/', '/openapi', '/openapi/*', '/api', '/api/*', '/apis', '/apis/*']),
    ]),
    clusterRole('system:monitoring', [
      urls(['get'], ['/metrics', '/metrics/slis', '/livez', '/readyz', '/healthz', '/livez/*', '/readyz/*', '/healthz/*']),
    ]),
    clusterRole('system:basic-user', [
      rule(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']),
      rule(['create'], ['authentication.k8s.io'], ['selfsubjectreviews']),
    ]),
    clusterRole('system:public-info-viewer', [urls(['get'], ['/livez', '/readyz', '/healthz', '/version', '/version/'])]),
    aggregatedClusterRole('admin', AGGREGATE_TO_ADMIN),
    aggregatedClusterRole('edit', AGGREGATE_TO_EDIT, { [AGGREGATE_TO_ADMIN]: 'true' }),
    aggregatedClusterRole('view', AGGREGATE_TO_VIEW, { [AGGREGATE_TO_EDIT]: 'true' }),
    clusterRole(
      'system:aggregate-to-admin',
      [
        rule(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews']),
        rule(readWrite, [RBAC_GROUP], ['roles', 'rolebindings']),
      ],
      { [AGGREGATE_TO_ADMIN]: 'true' },
    ),
    clusterRole(
      'system:aggregate-to-edit',
      [
        // Read on escalating resources.
        rule(read, [''], ['pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward', 'secrets', 'services/proxy']),
        rule(['impersonate'], [''], ['serviceaccounts']),
        rule(write, [''], ['pods', 'pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward']),
        rule(['create'], [''], ['pods/eviction']),
        rule(write, [''], [
          'replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/proxy',
          'persistentvolumeclaims', 'configmaps', 'secrets', 'events',
        ]),
        rule(['create'], [''], ['serviceaccounts/token']),
        rule(write, ['apps'], [
          'statefulsets', 'statefulsets/scale', 'daemonsets', 'deployments', 'deployments/scale', 'deployments/rollback',
          'replicasets', 'replicasets/scale',
        ]),
        rule(write, ['autoscaling'], ['horizontalpodautoscalers']),
        rule(write, ['batch'], ['jobs', 'cronjobs']),
        rule(write, ['extensions'], [
          'daemonsets', 'deployments', 'deployments/scale', 'deployments/rollback', 'ingresses', 'replicasets',
          'replicasets/scale', 'replicationcontrollers/scale', 'networkpolicies',
        ]),
        rule(write, ['policy'], ['poddisruptionbudgets']),
        rule(write, ['networking.k8s.io'], ['networkpolicies', 'ingresses']),
      ],
      { [AGGREGATE_TO_EDIT]: 'true' },
    ),
    clusterRole(
      'system:aggregate-to-view',
      [
        rule(read, [''], [
          'pods', 'replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/status',
          'endpoints', 'persistentvolumeclaims', 'persistentvolumeclaims/status', 'configmaps',
        ]),
        rule(read, [''], [
          'limitranges', 'resourcequotas', 'bindings', 'events', 'pods/status', 'resourcequotas/status', 'namespaces/status',
          'replicationcontrollers/status', 'pods/log',
        ]),
        // Read access to namespaces at namespace scope means: this namespace.
        rule(read, [''], ['namespaces']),
        rule(read, ['discovery.k8s.io'], ['endpointslices']),
        rule(read, ['apps'], [
          'controllerrevisions', 'statefulsets', 'statefulsets/status', 'statefulsets/scale', 'daemonsets', 'daemonsets/status',
          'deployments', 'deployments/status', 'deployments/scale', 'replicasets', 'replicasets/status', 'replicasets/scale',
        ]),
        rule(read, ['autoscaling'], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status']),
        rule(read, ['batch'], ['jobs', 'cronjobs', 'cronjobs/status', 'jobs/status']),
        rule(read, ['extensions'], [
          'daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status', 'ingresses',
          'ingresses/status', 'replicasets', 'replicasets/scale', 'replicasets/status', 'replicationcontrollers/scale',
          'networkpolicies',
        ]),
        rule(read, ['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status']),
        rule(read, ['networking.k8s.io'], ['ingresses', 'ingresses/status', 'networkpolicies']),
      ],
      { [AGGREGATE_TO_VIEW]: 'true' },
    ),
    clusterRole('system:node', nodeRules()),
    clusterRole('system:node-proxier', [
      rule(['list', 'watch'], [''], ['services', 'endpoints']),
      rule(['get', 'list', 'watch'], [''], ['nodes']),
      eventsRule(),
      rule(['list', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
    ]),
    clusterRole('system:auth-delegator', [
      rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
      rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
    ]),
    clusterRole('system:service-account-issuer-discovery', [
      urls(['get'], [...OIDC_CONFIGURATION_PATHS, ...OIDC_JWKS_PATHS]),
    ]),
  ];

  const clusterRoleBindings: ClusterRoleBinding[] = [
    clusterBinding('cluster-admin', [group(GROUP_MASTERS)]),
    clusterBinding('system:monitoring', [group('system:monitoring')]),
    clusterBinding('system:discovery', [group(GROUP_AUTHENTICATED)]),
    clusterBinding('system:basic-user', [group(GROUP_AUTHENTICATED)]),
    clusterBinding('system:public-info-viewer', [group(GROUP_AUTHENTICATED), group(GROUP_UNAUTHENTICATED)]),
    clusterBinding('system:node-proxier', [user('system:kube-proxy')]),
    // Kept without subjects since the Node authorizer replaced it (1.8).
    clusterBinding('system:node', []),
    clusterBinding('system:service-account-issuer-discovery', [group(GROUP_SERVICE_ACCOUNTS)]),
  ];
  if (options.unauthenticatedIssuerDiscovery) {
    clusterRoleBindings.push(
      clusterBinding(UNAUTHENTICATED_ISSUER_DISCOVERY_BINDING, [group(GROUP_UNAUTHENTICATED)], 'system:service-account-issuer-discovery'),
    );
  }

  const roles: Role[] = [
    {
      apiVersion: RBAC_V1,
      kind: 'Role',
      metadata: meta('extension-apiserver-authentication-reader', {}, 'kube-system'),
      rules: [rule(read, [''], ['configmaps'], ['extension-apiserver-authentication'])],
    },
  ];
  const roleBindings: RoleBinding[] = [
    {
      apiVersion: RBAC_V1,
      kind: 'RoleBinding',
      metadata: meta('system::extension-apiserver-authentication-reader', {}, 'kube-system'),
      roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name: 'extension-apiserver-authentication-reader' },
      subjects: [user('system:kube-controller-manager'), user('system:kube-scheduler')],
    },
  ];

  return { clusterRoles, clusterRoleBindings, roles, roleBindings };
}
