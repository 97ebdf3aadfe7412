/** Builders shared by the authorization tests. */
import type { ClusterRole, ClusterRoleBinding, KubeObject, PolicyRule, Role, RoleBinding, Subject } from '@boundtoken/api';
import type { AuthorizationAttributes, UserInfo } from '../../src/auth/types.js';
import { memoryCache } from './memory-cache.js';
import type { MemoryCache } from './memory-cache.js';

export function user(name: string, groups: string[] = ['system:authenticated'], extra: Record<string, string[]> = {}): UserInfo {
  return { name, uid: '', groups, extra };
}

export function saUser(namespace: string, name: string): UserInfo {
  return user(`system:serviceaccount:${namespace}:${name}`, ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated']);
}

export function nodeUser(name: string): UserInfo {
  return user(`system:node:${name}`, ['system:nodes', 'system:authenticated']);
}

export const anonymous = user('system:anonymous', ['system:unauthenticated']);

/** Resource request attributes; `resource` may be `pods/log`. */
export function res(
  u: UserInfo,
  verb: string,
  resource: string,
  opts: { namespace?: string; group?: string; name?: string; fieldSelector?: AuthorizationAttributes['fieldSelector'] } = {},
): AuthorizationAttributes {
  const [r, sub = ''] = resource.split('/');
  return {
    user: u,
    verb,
    resourceRequest: true,
    path: '',
    namespace: opts.namespace ?? '',
    apiGroup: opts.group ?? '',
    apiVersion: 'v1',
    resource: r!,
    subresource: sub,
    name: opts.name ?? '',
    ...(opts.fieldSelector ? { fieldSelector: opts.fieldSelector } : {}),
  };
}

export function nonRes(u: UserInfo, verb: string, path: string): AuthorizationAttributes {
  return { user: u, verb, resourceRequest: false, path, namespace: '', apiGroup: '', apiVersion: '', resource: '', subresource: '', name: '' };
}

/** Views a typed object as a stored object (what caches hold). */
export const kube = <T>(o: T): T & KubeObject => o as T & KubeObject;

export function clusterRole(name: string, rules: PolicyRule[], labels?: Record<string, string>): ClusterRole & KubeObject {
  return kube({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name, ...(labels ? { labels } : {}) }, rules });
}

export function role(namespace: string, name: string, rules: PolicyRule[]): Role & KubeObject {
  return kube({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { namespace, name }, rules });
}

export function clusterRoleBinding(name: string, roleName: string, subjects: Subject[]): ClusterRoleBinding & KubeObject {
  return kube({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
    subjects,
  });
}

export function roleBinding(
  namespace: string,
  name: string,
  ref: { kind: 'Role' | 'ClusterRole'; name: string },
  subjects: Subject[],
): RoleBinding & KubeObject {
  return kube({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { namespace, name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', ...ref },
    subjects,
  });
}

export const User = (name: string): Subject => ({ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name });
export const Group = (name: string): Subject => ({ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name });
export const SA = (name: string, namespace?: string): Subject => ({ kind: 'ServiceAccount', name, ...(namespace ? { namespace } : {}) });

export interface RbacFixture {
  roles: MemoryCache;
  clusterRoles: MemoryCache;
  roleBindings: MemoryCache;
  clusterRoleBindings: MemoryCache;
}

export function rbacCaches(objects: {
  roles?: Role[];
  clusterRoles?: ClusterRole[];
  roleBindings?: RoleBinding[];
  clusterRoleBindings?: ClusterRoleBinding[];
}): RbacFixture {
  const k = <T>(list: T[] | undefined): KubeObject[] => (list ?? []).map(kube);
  return {
    roles: memoryCache(k(objects.roles)),
    clusterRoles: memoryCache(k(objects.clusterRoles)),
    roleBindings: memoryCache(k(objects.roleBindings)),
    clusterRoleBindings: memoryCache(k(objects.clusterRoleBindings)),
  };
}
