/**
 * ClusterRole aggregation, as the clusterrole-aggregation controller computes it
 * (pkg/controller/clusterroleaggregation): a ClusterRole with `aggregationRule.clusterRoleSelectors`
 * gets the union of the rules of every other ClusterRole its selectors match, in selector order then
 * name order, without duplicates. Pure functions: the server runs them as a controller, writing back
 * the roles whose rules changed, until nothing changes (edit gathers view, admin gathers edit).
 */
import type { ClusterRole, PolicyRule } from '@boundtoken/api';
import { compileLabelSelector } from './label-selector.js';

const same = (a: readonly string[] | undefined, b: readonly string[] | undefined): boolean => {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

/** Semantic equality of two rules (absent and empty lists are equal, order matters). */
export function ruleEquals(a: PolicyRule, b: PolicyRule): boolean {
  return (
    same(a.verbs, b.verbs) &&
    same(a.apiGroups, b.apiGroups) &&
    same(a.resources, b.resources) &&
    same(a.resourceNames, b.resourceNames) &&
    same(a.nonResourceURLs, b.nonResourceURLs)
  );
}

export function rulesEqual(a: readonly PolicyRule[] | undefined, b: readonly PolicyRule[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((r, i) => ruleEquals(r, y[i]!));
}

export type AggregationResult =
  /** The role has no aggregation rule: its rules are its own. */
  | { kind: 'none' }
  | { kind: 'rules'; rules: PolicyRule[] }
  | { kind: 'error'; message: string };

/** The rules `role` should have, gathered from `all` (which may include `role` itself). */
export function aggregateClusterRole(role: ClusterRole, all: readonly ClusterRole[]): AggregationResult {
  const selectors = role.aggregationRule?.clusterRoleSelectors;
  if (!role.aggregationRule) return { kind: 'none' };
  const byName = [...all].sort((a, b) => {
    const x = a.metadata?.name ?? '';
    const y = b.metadata?.name ?? '';
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const rules: PolicyRule[] = [];
  for (const selector of selectors ?? []) {
    const matches = compileLabelSelector(selector);
    if (typeof matches !== 'function') return { kind: 'error', message: matches.error };
    for (const other of byName) {
      if (other.metadata?.name === role.metadata?.name) continue;
      if (!matches(other.metadata?.labels ?? {})) continue;
      for (const r of other.rules ?? []) if (!rules.some((have) => ruleEquals(have, r))) rules.push(r);
    }
  }
  return { kind: 'rules', rules };
}

/**
 * The aggregated ClusterRoles whose rules differ from what aggregation gives, with their new rules
 * (one pass of the controller). Roles with an invalid selector are skipped.
 */
export function clusterRoleAggregationUpdates(all: readonly ClusterRole[]): Array<{ name: string; rules: PolicyRule[] }> {
  const updates: Array<{ name: string; rules: PolicyRule[] }> = [];
  for (const role of all) {
    const result = aggregateClusterRole(role, all);
    if (result.kind !== 'rules') continue;
    if (!rulesEqual(result.rules, role.rules)) updates.push({ name: role.metadata?.name ?? '', rules: result.rules });
  }
  return updates;
}

/**
 * Applies aggregation to a set of ClusterRoles until it settles (what the controller converges to).
 * Returns every role, with new objects for those whose rules changed. Bounded by the number of roles,
 * since each pass can only lengthen a chain by one.
 */
export function aggregateAll(all: readonly ClusterRole[]): ClusterRole[] {
  let current = all.map((r) => ({ ...r }));
  for (let pass = 0; pass <= current.length; pass++) {
    const updates = clusterRoleAggregationUpdates(current);
    if (updates.length === 0) break;
    const byName = new Map(updates.map((u) => [u.name, u.rules]));
    current = current.map((r) => (byName.has(r.metadata?.name ?? '') ? { ...r, rules: byName.get(r.metadata?.name ?? '') } : r));
  }
  return current;
}
