/**
 * The RBAC authorizer, evaluated as Kubernetes does (plugin/pkg/auth/authorizer/rbac/rbac.go and
 * pkg/registry/rbac/validation/rule.go): ClusterRoleBindings grant their ClusterRole everywhere,
 * RoleBindings grant their Role or ClusterRole inside the binding's namespace. RBAC only ever allows
 * or abstains; it never denies.
 *
 * Every API request goes through here, so bindings are indexed by subject (user name, group name,
 * service account user name) and each user+namespace's resolved rule list is cached. Any change to a
 * role or binding (seen through the caches' subscriptions) drops the resolved lists.
 */
import type { PolicyRule, RoleRef, Subject } from '@boundtoken/api';
import type { AuthorizationAttributes, Decision, UserInfo } from '../auth/types.js';
import type { CacheHandler } from '../cache/types.js';
import { ruleAllows } from './rule-match.js';
import { goQuote } from '@boundtoken/api';
import { aggregateMessages } from './text.js';
import { typedCache } from './types.js';
import type {
  ClusterRoleBindingObject,
  ClusterRoleObject,
  RbacCaches,
  ResolvingAuthorizer,
  RoleBindingObject,
  RoleObject,
  RulesForResult,
} from './types.js';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';
const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';

/** What a role reference resolves to. */
export type RoleReferenceResult =
  | { ok: true; rules: PolicyRule[] }
  | { ok: false; reason: 'NotFound' | 'Unsupported'; message: string };

export interface RbacAuthorizer extends ResolvingAuthorizer {
  /**
   * Every rule that applies to the user in the namespace (cluster-wide rules only for ''), and the
   * errors met on the way (RulesFor of the rule resolver; used by the escalation checks).
   */
  policyRules(user: UserInfo, namespace: string): { rules: PolicyRule[]; errors: string[] };
  /** The rules a binding in `namespace` ('' for a ClusterRoleBinding) grants through `roleRef`. */
  roleReferenceRules(roleRef: RoleRef, namespace: string): RoleReferenceResult;
}

export interface RbacOptions {
  /** How many user+namespace rule lists to keep (default 4096); the oldest is dropped first. */
  maxCachedUsers?: number;
}

interface Entry {
  rule: PolicyRule;
  /** `ClusterRoleBinding "x" of ClusterRole "y" to Group "z"`, for `RBAC: allowed by …`. */
  source: string;
}

interface Resolution {
  entries: Entry[];
  errors: string[];
}

type AnyBinding = RoleBindingObject | ClusterRoleBindingObject;

/** Bindings filed under the subjects they name, so a lookup touches only the user's bindings. */
class SubjectIndex<B extends AnyBinding> {
  private readonly byKey = new Map<string, Map<string, B>>();
  private readonly keysById = new Map<string, string[]>();

  set(id: string, binding: B, keys: string[]): void {
    this.delete(id);
    this.keysById.set(id, keys);
    for (const key of keys) {
      let bucket = this.byKey.get(key);
      if (!bucket) this.byKey.set(key, (bucket = new Map()));
      bucket.set(id, binding);
    }
  }

  delete(id: string): void {
    const keys = this.keysById.get(id);
    if (!keys) return;
    this.keysById.delete(id);
    for (const key of keys) {
      const bucket = this.byKey.get(key);
      if (!bucket) continue;
      bucket.delete(id);
      if (bucket.size === 0) this.byKey.delete(key);
    }
  }

  /** Bindings under any of the keys, ordered by id (so rule lists and reasons are deterministic). */
  find(keys: readonly string[]): B[] {
    const found = new Map<string, B>();
    for (const key of keys) {
      const bucket = this.byKey.get(key);
      if (bucket) for (const [id, b] of bucket) found.set(id, b);
    }
    if (found.size <= 1) return [...found.values()];
    return [...found.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((e) => e[1]);
  }
}

function userKey(name: string): string {
  return `u\0${name}`;
}

function groupKey(name: string): string {
  return `g\0${name}`;
}

/** The index key of a subject; service accounts are filed under their user name. */
function subjectKey(subject: Subject, bindingNamespace: string): string | undefined {
  switch (subject.kind) {
    case 'User':
      return userKey(subject.name);
    case 'Group':
      return groupKey(subject.name);
    case 'ServiceAccount': {
      const ns = subject.namespace || bindingNamespace;
      return ns ? userKey(`${SERVICE_ACCOUNT_PREFIX}${ns}:${subject.name}`) : undefined;
    }
    default:
      return undefined;
  }
}

/** appliesToUser of rule.go: the subject names the user, one of its groups, or its service account. */
export function subjectAppliesToUser(user: UserInfo, subject: Subject, namespace: string): boolean {
  switch (subject.kind) {
    case 'User':
      return user.name === subject.name;
    case 'Group':
      return user.groups.includes(subject.name);
    case 'ServiceAccount': {
      const ns = subject.namespace || namespace;
      if (!ns) return false;
      return user.name === `${SERVICE_ACCOUNT_PREFIX}${ns}:${subject.name}`;
    }
    default:
      return false;
  }
}

function firstApplyingSubject(user: UserInfo, subjects: Subject[] | undefined, namespace: string): Subject | undefined {
  for (const s of subjects ?? []) if (subjectAppliesToUser(user, s, namespace)) return s;
  return undefined;
}

function describeSubject(s: Subject, bindingNamespace: string): string {
  if (s.kind === 'ServiceAccount') return `${s.kind} ${goQuote(`${s.name}/${s.namespace || bindingNamespace}`)}`;
  return `${s.kind} ${goQuote(s.name)}`;
}

function keysOf(binding: AnyBinding, namespace: string, prefix: string): string[] {
  const keys = new Set<string>();
  for (const s of binding.subjects ?? []) {
    const key = subjectKey(s, namespace);
    if (key !== undefined) keys.add(prefix + key);
  }
  return [...keys];
}

export function createRbacAuthorizer(rbacCaches: RbacCaches, options: RbacOptions = {}): RbacAuthorizer {
  const caches = {
    roles: typedCache<RoleObject>(rbacCaches.roles),
    clusterRoles: typedCache<ClusterRoleObject>(rbacCaches.clusterRoles),
    roleBindings: typedCache<RoleBindingObject>(rbacCaches.roleBindings),
    clusterRoleBindings: typedCache<ClusterRoleBindingObject>(rbacCaches.clusterRoleBindings),
  };
  const maxCached = options.maxCachedUsers ?? 4096;
  if (!Number.isInteger(maxCached) || maxCached < 0) throw new TypeError('maxCachedUsers must be a non-negative integer');

  const clusterIndex = new SubjectIndex<ClusterRoleBindingObject>();
  /** RoleBindings keyed `<namespace>\0<subject key>`. */
  const namespacedIndex = new SubjectIndex<RoleBindingObject>();
  const resolved = new Map<string, Resolution>();

  const indexClusterBinding = (b: ClusterRoleBindingObject): void => {
    clusterIndex.set(b.metadata?.name ?? '', b, keysOf(b, '', ''));
  };
  const unindexClusterBinding = (b: ClusterRoleBindingObject): void => clusterIndex.delete(b.metadata?.name ?? '');
  const indexBinding = (b: RoleBindingObject): void => {
    const ns = b.metadata?.namespace ?? '';
    namespacedIndex.set(`${ns}/${b.metadata?.name ?? ''}`, b, keysOf(b, ns, `${ns}\0`));
  };
  const unindexBinding = (b: RoleBindingObject): void =>
    namespacedIndex.delete(`${b.metadata?.namespace ?? ''}/${b.metadata?.name ?? ''}`);

  const invalidate = (): void => resolved.clear();
  const onAnyChange: CacheHandler = { add: invalidate, update: invalidate, delete: invalidate };

  for (const b of caches.clusterRoleBindings.list()) indexClusterBinding(b);
  for (const b of caches.roleBindings.list()) indexBinding(b);
  const unsubscribers = [
    caches.clusterRoleBindings.subscribe({
      add: (b) => (indexClusterBinding(b), invalidate()),
      update: (b, old) => (unindexClusterBinding(old), indexClusterBinding(b), invalidate()),
      delete: (b) => (unindexClusterBinding(b), invalidate()),
    }),
    caches.roleBindings.subscribe({
      add: (b) => (indexBinding(b), invalidate()),
      update: (b, old) => (unindexBinding(old), indexBinding(b), invalidate()),
      delete: (b) => (unindexBinding(b), invalidate()),
    }),
    caches.roles.subscribe(onAnyChange),
    caches.clusterRoles.subscribe(onAnyChange),
  ];

  function roleReferenceRules(roleRef: RoleRef, namespace: string): RoleReferenceResult {
    switch (roleRef.kind) {
      case 'Role': {
        const role = caches.roles.get(namespace, roleRef.name);
        if (!role) return { ok: false, reason: 'NotFound', message: `role.${RBAC_GROUP} ${goQuote(roleRef.name)} not found` };
        return { ok: true, rules: role.rules ?? [] };
      }
      case 'ClusterRole': {
        const role = caches.clusterRoles.get('', roleRef.name);
        if (!role) {
          return { ok: false, reason: 'NotFound', message: `clusterrole.${RBAC_GROUP} ${goQuote(roleRef.name)} not found` };
        }
        return { ok: true, rules: role.rules ?? [] };
      }
      default:
        return { ok: false, reason: 'Unsupported', message: `unsupported role reference kind: ${goQuote(roleRef.kind)}` };
    }
  }

  function resolveUncached(user: UserInfo, namespace: string): Resolution {
    const entries: Entry[] = [];
    const errors: string[] = [];
    const keys = [userKey(user.name), ...user.groups.map(groupKey)];

    for (const binding of clusterIndex.find(keys)) {
      const subject = firstApplyingSubject(user, binding.subjects, '');
      if (!subject) continue;
      const ref = roleReferenceRules(binding.roleRef, '');
      if (!ref.ok) {
        errors.push(ref.message);
        continue;
      }
      const source =
        `ClusterRoleBinding ${goQuote(binding.metadata?.name ?? '')} of ${binding.roleRef.kind} ` +
        `${goQuote(binding.roleRef.name)} to ${describeSubject(subject, '')}`;
      for (const rule of ref.rules) entries.push({ rule, source });
    }

    if (namespace) {
      const prefixed = keys.map((k) => `${namespace}\0${k}`);
      for (const binding of namespacedIndex.find(prefixed)) {
        const subject = firstApplyingSubject(user, binding.subjects, namespace);
        if (!subject) continue;
        const ref = roleReferenceRules(binding.roleRef, namespace);
        if (!ref.ok) {
          errors.push(ref.message);
          continue;
        }
        const source =
          `RoleBinding ${goQuote(`${binding.metadata?.name ?? ''}/${namespace}`)} of ${binding.roleRef.kind} ` +
          `${goQuote(binding.roleRef.name)} to ${describeSubject(subject, namespace)}`;
        for (const rule of ref.rules) entries.push({ rule, source });
      }
    }
    return { entries, errors };
  }

  function resolve(user: UserInfo, namespace: string): Resolution {
    if (maxCached === 0) return resolveUncached(user, namespace);
    const key = `${user.name}\0${user.groups.join('\0')}\x01${namespace}`;
    let r = resolved.get(key);
    if (r) return r;
    r = resolveUncached(user, namespace);
    if (resolved.size >= maxCached) {
      const oldest = resolved.keys().next();
      if (!oldest.done) resolved.delete(oldest.value);
    }
    resolved.set(key, r);
    return r;
  }

  return {
    authorize(attrs: AuthorizationAttributes): Decision {
      const r = resolve(attrs.user, attrs.namespace);
      for (const e of r.entries) {
        if (ruleAllows(attrs, e.rule)) return { decision: 'allow', reason: `RBAC: allowed by ${e.source}` };
      }
      return { decision: 'noOpinion', reason: r.errors.length > 0 ? `RBAC: ${aggregateMessages(r.errors)}` : '' };
    },

    rulesFor(user: UserInfo, namespace: string): RulesForResult {
      const r = resolve(user, namespace);
      const resourceRules: PolicyRule[] = [];
      const nonResourceRules: PolicyRule[] = [];
      for (const { rule } of r.entries) {
        if ((rule.resources ?? []).length > 0) resourceRules.push(rule);
        if ((rule.nonResourceURLs ?? []).length > 0) nonResourceRules.push(rule);
      }
      return { resourceRules, nonResourceRules, incomplete: false, evaluationError: aggregateMessages(r.errors) };
    },

    policyRules(user: UserInfo, namespace: string) {
      const r = resolve(user, namespace);
      return { rules: r.entries.map((e) => e.rule), errors: r.errors };
    },

    roleReferenceRules,

    close(): void {
      for (const unsubscribe of unsubscribers.splice(0)) unsubscribe();
      resolved.clear();
    },
  };
}
