/**
 * Shapes shared by the authorizers of this module (rule resolution for SelfSubjectRulesReview and
 * escalation checks). The request-time contract (Authorizer, Decision) lives in ../auth/types.ts.
 */
import type { ClusterRole, ClusterRoleBinding, KubeObject, Node, Pod, PolicyRule, Role, RoleBinding } from '@boundtoken/api';
import type { Authorizer, UserInfo } from '../auth/types.js';
import type { ObjectCache } from '../cache/types.js';

/** What one rule resolver says a user may do in a namespace (authorizer.RuleResolver.RulesFor). */
export interface RulesForResult {
  /** Rules with resources (apiGroups/resources/resourceNames/verbs). */
  resourceRules: PolicyRule[];
  /** Rules with nonResourceURLs. */
  nonResourceRules: PolicyRule[];
  /** True when the resolver cannot enumerate everything the user may do (the Node authorizer). */
  incomplete: boolean;
  /** Errors met while resolving (missing roles, …); '' when none. The rules found are still valid. */
  evaluationError: string;
}

export interface RuleResolver {
  rulesFor(user: UserInfo, namespace: string): RulesForResult;
}

/** An authorizer that can also enumerate rules, and that holds cache subscriptions until closed. */
export interface ResolvingAuthorizer extends Authorizer, RuleResolver {
  /** Drops the cache subscriptions. */
  close(): void;
}

export type RoleObject = Role & KubeObject;
export type ClusterRoleObject = ClusterRole & KubeObject;
export type RoleBindingObject = RoleBinding & KubeObject;
export type ClusterRoleBindingObject = ClusterRoleBinding & KubeObject;
export type PodObject = Pod & KubeObject;
export type NodeObject = Node & KubeObject;

/**
 * The informer caches the authorizers read. Typed caches (`ObjectCache<Role & KubeObject>`) and
 * generic ones (`ObjectCache<KubeObject>`) both fit; the objects are trusted to be of the named kind.
 */
export interface RbacCaches {
  roles: ObjectCache;
  clusterRoles: ObjectCache;
  roleBindings: ObjectCache;
  clusterRoleBindings: ObjectCache;
}

export interface NodeCaches {
  pods: ObjectCache;
}

/** Views a generic cache as a cache of one kind (the informer only holds objects of its resource). */
export function typedCache<T extends KubeObject>(cache: ObjectCache): ObjectCache<T> {
  return cache as ObjectCache<T>;
}
