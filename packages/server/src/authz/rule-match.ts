/**
 * Whether one RBAC PolicyRule covers one request: Kubernetes' RuleAllows
 * (plugin/pkg/auth/authorizer/rbac/rbac.go) and the matchers of
 * pkg/apis/rbac/v1/evaluation_helpers.go. Pure functions over plain objects.
 */
import type { PolicyRule } from '@boundtoken/api';
import type { AuthorizationAttributes } from '../auth/types.js';

const NONE: readonly string[] = [];

export function verbMatches(rule: PolicyRule, verb: string): boolean {
  for (const v of rule.verbs ?? NONE) if (v === '*' || v === verb) return true;
  return false;
}

export function apiGroupMatches(rule: PolicyRule, group: string): boolean {
  for (const g of rule.apiGroups ?? NONE) if (g === '*' || g === group) return true;
  return false;
}

/**
 * `combined` is `resource` or `resource/subresource`. A rule resource matches when it is `*`, equals
 * `combined`, or is `*` + `/<subresource>` for a subresource request.
 */
export function resourceMatches(rule: PolicyRule, combined: string, subresource: string): boolean {
  for (const r of rule.resources ?? NONE) {
    if (r === '*' || r === combined) return true;
    if (subresource.length === 0) continue;
    if (r.length === subresource.length + 2 && r.startsWith('*/') && r.endsWith(subresource)) return true;
  }
  return false;
}

/**
 * A rule without resourceNames matches any name; with resourceNames it matches only those names, so a
 * request without a name (create, list, watch, deletecollection) never matches it.
 */
export function resourceNameMatches(rule: PolicyRule, name: string): boolean {
  const names = rule.resourceNames ?? NONE;
  if (names.length === 0) return true;
  for (const n of names) if (n === name) return true;
  return false;
}

/** `*` matches all paths; a trailing `*` is a prefix match (`/apis/*`); otherwise exact. */
export function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? NONE) {
    if (u === '*' || u === path) return true;
    if (u.endsWith('*') && path.startsWith(trimTrailingStars(u))) return true;
  }
  return false;
}

export function trimTrailingStars(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 42 /* * */) end--;
  return s.slice(0, end);
}

export function ruleAllows(attrs: AuthorizationAttributes, rule: PolicyRule): boolean {
  if (attrs.resourceRequest) {
    const combined = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
    return (
      verbMatches(rule, attrs.verb) &&
      apiGroupMatches(rule, attrs.apiGroup) &&
      resourceMatches(rule, combined, attrs.subresource) &&
      resourceNameMatches(rule, attrs.name)
    );
  }
  return verbMatches(rule, attrs.verb) && nonResourceURLMatches(rule, attrs.path);
}

export function rulesAllow(attrs: AuthorizationAttributes, rules: readonly PolicyRule[]): boolean {
  for (const rule of rules) if (ruleAllows(attrs, rule)) return true;
  return false;
}
