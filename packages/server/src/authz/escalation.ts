/**
 * RBAC privilege-escalation prevention for writes of roles and bindings (pkg/registry/rbac/*
 * /policybased): a user may only create or update a Role/ClusterRole whose rules they already hold,
 * unless they are in `system:masters` or may `escalate` it; and may only bind a role whose rules they
 * hold, unless they may `bind` it. An aggregationRule needs cluster-admin-level rules.
 */
import { badRequest, forbidden, goQuote, goQuoteList, notFound } from '@boundtoken/api';
import type { ClusterRole, ClusterRoleBinding, KubeObject, PolicyRule, Role, RoleBinding, RoleRef } from '@boundtoken/api';
import { GROUP_MASTERS } from '../auth/types.js';
import type { Authorizer, UserInfo } from '../auth/types.js';
import { compactRules, compactString, covers } from './policy-compare.js';
import { RBAC_GROUP } from './rbac.js';
import type { RbacAuthorizer } from './rbac.js';
import { aggregateMessages } from './text.js';

export type RbacObject = Role | ClusterRole | RoleBinding | ClusterRoleBinding;

const fullAuthority: PolicyRule[] = [
  { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
  { verbs: ['*'], nonResourceURLs: ['*'] },
];

/** rbacregistry.EscalationAllowed: members of system:masters may grant anything. */
function escalationAllowed(user: UserInfo): boolean {
  return user.groups.includes(GROUP_MASTERS);
}

/** ConfirmNoEscalation: the error message when `rules` are not all held by the user in `namespace`. */
function escalationError(user: UserInfo, namespace: string, rules: readonly PolicyRule[], rbac: RbacAuthorizer): string | undefined {
  const own = rbac.policyRules(user, namespace);
  const { covered, missing } = covers(own.rules, rules);
  if (covered) return undefined;
  const lines = [...new Set(compactRules(missing).map(compactString))].sort();
  let msg =
    `user ${goQuote(user.name)} (groups=${goQuoteList(user.groups)}) is attempting to grant RBAC permissions not currently held:\n` +
    lines.join('\n');
  if (own.errors.length > 0) msg += `; resolution errors: [${aggregateMessages(own.errors)}]`;
  return msg;
}

/** IsOnlyMutatingGCFields: an update that only touches ownerReferences/finalizers/managedFields. */
function onlyGcFieldsChanged(obj: RbacObject, old: RbacObject): boolean {
  const strip = (o: RbacObject): unknown => {
    const { metadata, ...rest } = o as KubeObject;
    const {
      ownerReferences: _o,
      finalizers: _f,
      managedFields: _m,
      selfLink: _s,
      resourceVersion: _rv,
      generation: _g,
      creationTimestamp: _c,
      uid: _u,
      ...meta
    } = metadata ?? {};
    return { ...rest, metadata: meta };
  };
  return semanticEqual(strip(obj), strip(old));
}

/** Deep equality where absent, null, empty arrays and empty objects are the same (Semantic.DeepEqual). */
function semanticEqual(a: unknown, b: unknown): boolean {
  const empty = (v: unknown): boolean =>
    v === undefined ||
    v === null ||
    (Array.isArray(v) && v.length === 0) ||
    (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0);
  if (empty(a) && empty(b)) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => semanticEqual(v, b[i]));
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) if (!semanticEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
    return true;
  }
  return a === b;
}

function bindAuthorized(user: UserInfo, ref: RoleRef, namespace: string, authorizer: Authorizer): boolean {
  let resource: string;
  if (ref.kind === 'ClusterRole') resource = 'clusterroles';
  else if (ref.kind === 'Role') resource = 'roles';
  else return false;
  return (
    authorizer.authorize({
      user,
      verb: 'bind',
      resourceRequest: true,
      path: '',
      namespace,
      apiGroup: ref.apiGroup,
      apiVersion: '',
      resource,
      subresource: '',
      name: ref.name,
    }).decision === 'allow'
  );
}

function escalateAuthorized(user: UserInfo, resource: 'roles' | 'clusterroles', name: string, namespace: string, authorizer: Authorizer): boolean {
  return (
    authorizer.authorize({
      user,
      verb: 'escalate',
      resourceRequest: true,
      path: '',
      namespace,
      apiGroup: RBAC_GROUP,
      apiVersion: '*',
      resource,
      subresource: '',
      name,
    }).decision === 'allow'
  );
}

const hasAggregationRule = (r: ClusterRole | undefined): boolean => (r?.aggregationRule?.clusterRoleSelectors ?? []).length > 0;

/**
 * Throws the Kubernetes 403 (or 404 for a missing role when the binding needs its rules) if `user`
 * may not write `obj`. `old` is the stored object on update. `obj.kind` names the resource; its
 * namespace must be the request's. `authorizer` is the full chain (for `escalate`/`bind` checks),
 * `rbac` its RBAC resolver (for the rules the user holds).
 */
export function checkRbacWrite(
  user: UserInfo,
  obj: RbacObject,
  authorizer: Authorizer,
  rbac: RbacAuthorizer,
  old?: RbacObject,
): void {
  if (escalationAllowed(user)) return;
  const name = obj.metadata?.name ?? '';
  const namespace = obj.metadata?.namespace ?? '';
  if (old && onlyGcFieldsChanged(obj, old)) return;

  switch (obj.kind) {
    case 'Role':
    case 'ClusterRole': {
      const resource = obj.kind === 'Role' ? 'roles' : 'clusterroles';
      const scope = obj.kind === 'Role' ? namespace : '';
      if (obj.kind === 'Role' && !scope) throw badRequest('namespace is required');
      if (escalateAuthorized(user, resource, name, scope, authorizer)) return;
      const gr = { group: RBAC_GROUP, resource };
      const err = escalationError(user, scope, obj.rules ?? [], rbac);
      if (err) throw forbidden(gr, name, err);
      if (obj.kind === 'ClusterRole' && (hasAggregationRule(obj) || hasAggregationRule(old as ClusterRole | undefined))) {
        if (escalationError(user, '', fullAuthority, rbac)) {
          throw forbidden(gr, name, 'must have cluster-admin privileges to use the aggregationRule');
        }
      }
      return;
    }
    case 'RoleBinding':
    case 'ClusterRoleBinding': {
      const resource = obj.kind === 'RoleBinding' ? 'rolebindings' : 'clusterrolebindings';
      const scope = obj.kind === 'RoleBinding' ? namespace : '';
      if (obj.kind === 'RoleBinding' && !scope) throw badRequest('namespace is required');
      if (bindAuthorized(user, obj.roleRef, scope, authorizer)) return;
      const ref = rbac.roleReferenceRules(obj.roleRef, scope);
      if (!ref.ok) {
        if (ref.reason === 'NotFound') {
          throw notFound({ group: RBAC_GROUP, resource: obj.roleRef.kind === 'Role' ? 'roles' : 'clusterroles' }, obj.roleRef.name);
        }
        throw badRequest(ref.message);
      }
      const err = escalationError(user, scope, ref.rules, rbac);
      if (err) throw forbidden({ group: RBAC_GROUP, resource }, name, err);
      return;
    }
    default:
      throw new TypeError(`checkRbacWrite: not an RBAC object kind: ${JSON.stringify((obj as KubeObject).kind)}`);
  }
}
