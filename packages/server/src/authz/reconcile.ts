/**
 * Bootstrap policy reconciliation, as kube-apiserver's rbac/bootstrap-roles post-start hook does it
 * (pkg/registry/rbac/reconciliation, union mode): missing objects are created; existing ones gain the
 * labels, annotations, rules, aggregation selectors and subjects they lack, never lose any; objects
 * annotated `rbac.authorization.kubernetes.io/autoupdate: "false"` are left alone. A binding whose
 * roleRef differs (roleRef is immutable) is recreated.
 */
import type { ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, Subject } from '@boundtoken/api';
import type { LabelSelector, ObjectMeta } from 'kubernetes-types/meta/v1.js';
import type { BootstrapPolicy } from './bootstrap-policy.js';
import { AUTO_UPDATE_ANNOTATION } from './bootstrap-policy.js';
import { covers } from './policy-compare.js';

export type PolicyResource = 'clusterroles' | 'clusterrolebindings' | 'roles' | 'rolebindings';

export type ReconcileAction =
  | { op: 'create' | 'update' | 'recreate'; resource: 'clusterroles'; object: ClusterRole }
  | { op: 'create' | 'update' | 'recreate'; resource: 'clusterrolebindings'; object: ClusterRoleBinding }
  | { op: 'create' | 'update' | 'recreate'; resource: 'roles'; object: Role }
  | { op: 'create' | 'update' | 'recreate'; resource: 'rolebindings'; object: RoleBinding };

type WithMeta = { metadata?: ObjectMeta };

const keyOf = (o: WithMeta): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
const isProtected = (o: WithMeta): boolean => o.metadata?.annotations?.[AUTO_UPDATE_ANNOTATION] === 'false';

/** `merge(expected, existing)`: existing values win. */
function mergeMaps(expected?: Record<string, string>, existing?: Record<string, string>): Record<string, string> {
  return { ...(expected ?? {}), ...(existing ?? {}) };
}

const sameMap = (a?: Record<string, string>, b?: Record<string, string>): boolean => {
  const x = Object.entries(a ?? {});
  return x.length === Object.keys(b ?? {}).length && x.every(([k, v]) => (b ?? {})[k] === v);
};

const clone = <T>(v: T): T => structuredClone(v);

/** Copies `existing`, merging expected labels/annotations; reports whether they changed. */
function mergeMetadata<T extends WithMeta>(existing: T, expected: WithMeta): { object: T; changed: boolean } {
  const object = clone(existing);
  const annotations = mergeMaps(expected.metadata?.annotations, existing.metadata?.annotations);
  const labels = mergeMaps(expected.metadata?.labels, existing.metadata?.labels);
  const changed = !sameMap(annotations, existing.metadata?.annotations) || !sameMap(labels, existing.metadata?.labels);
  object.metadata = { ...object.metadata, labels, annotations };
  return { object, changed };
}

const selectorKey = (s: LabelSelector): string => JSON.stringify([s.matchLabels ?? {}, s.matchExpressions ?? []]);

function reconcileRole<T extends Role | ClusterRole>(existing: T, expected: T): { object: T; changed: boolean } {
  const { object, changed: metaChanged } = mergeMetadata(existing, expected);
  let changed = metaChanged;
  const { missing } = covers(existing.rules ?? [], expected.rules ?? []);
  if (missing.length > 0) {
    object.rules = [...(existing.rules ?? []), ...missing] as PolicyRule[];
    changed = true;
  }
  const exp = (expected as ClusterRole).aggregationRule;
  const cur = (existing as ClusterRole).aggregationRule;
  if (!exp && cur) {
    delete (object as ClusterRole).aggregationRule;
    changed = true;
  } else if (exp) {
    const have = new Set((cur?.clusterRoleSelectors ?? []).map(selectorKey));
    const add = (exp.clusterRoleSelectors ?? []).filter((s) => !have.has(selectorKey(s)));
    if (add.length > 0) {
      (object as ClusterRole).aggregationRule = { clusterRoleSelectors: [...(cur?.clusterRoleSelectors ?? []), ...clone(add)] };
      changed = true;
    }
  }
  return { object, changed };
}

const subjectKey = (s: Subject): string => JSON.stringify([s.kind, s.apiGroup ?? '', s.name, s.namespace ?? '']);

function reconcileBinding<T extends RoleBinding | ClusterRoleBinding>(existing: T, expected: T): { object: T; op?: 'update' | 'recreate' } {
  const a = existing.roleRef;
  const b = expected.roleRef;
  if (a.apiGroup !== b.apiGroup || a.kind !== b.kind || a.name !== b.name) return { object: clone(expected), op: 'recreate' };
  const { object, changed } = mergeMetadata(existing, expected);
  const have = new Set((existing.subjects ?? []).map(subjectKey));
  const missing = (expected.subjects ?? []).filter((s) => !have.has(subjectKey(s)));
  if (missing.length > 0) object.subjects = [...(existing.subjects ?? []), ...clone(missing)];
  return { object, ...(changed || missing.length > 0 ? { op: 'update' as const } : {}) };
}

/**
 * The writes that bring `existing` (what the store holds) up to `wanted` (usually `bootstrapPolicy()`).
 * Updates start from the stored object, so they keep its resourceVersion for an optimistic update;
 * `recreate` means delete then create.
 */
export function reconcileBootstrapPolicy(existing: BootstrapPolicy, wanted: BootstrapPolicy): ReconcileAction[] {
  const actions: ReconcileAction[] = [];

  const roles = <T extends Role | ClusterRole>(have: T[], want: T[], push: (op: 'create' | 'update', o: T) => void): void => {
    const byKey = new Map(have.map((o) => [keyOf(o), o]));
    for (const w of want) {
      const e = byKey.get(keyOf(w));
      if (!e) push('create', clone(w));
      else if (!isProtected(e)) {
        const r = reconcileRole(e, w);
        if (r.changed) push('update', r.object);
      }
    }
  };
  const bindings = <T extends RoleBinding | ClusterRoleBinding>(have: T[], want: T[], push: (op: 'create' | 'update' | 'recreate', o: T) => void): void => {
    const byKey = new Map(have.map((o) => [keyOf(o), o]));
    for (const w of want) {
      const e = byKey.get(keyOf(w));
      if (!e) push('create', clone(w));
      else if (!isProtected(e)) {
        const r = reconcileBinding(e, w);
        if (r.op) push(r.op, r.object);
      }
    }
  };

  roles(existing.clusterRoles, wanted.clusterRoles, (op, object) => actions.push({ op, resource: 'clusterroles', object }));
  roles(existing.roles, wanted.roles, (op, object) => actions.push({ op, resource: 'roles', object }));
  bindings(existing.clusterRoleBindings, wanted.clusterRoleBindings, (op, object) =>
    actions.push({ op, resource: 'clusterrolebindings', object }),
  );
  bindings(existing.roleBindings, wanted.roleBindings, (op, object) => actions.push({ op, resource: 'rolebindings', object }));
  return actions;
}
