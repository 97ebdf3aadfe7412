/**
 * metav1.LabelSelector matching (LabelSelectorAsSelector): matchLabels and matchExpressions are
 * ANDed; an empty selector matches everything. An invalid selector is reported, never matched.
 */
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';

export type CompiledSelector = (labels: Readonly<Record<string, string>>) => boolean;

/** Compiles a selector, or returns an error message for an invalid one. */
export function compileLabelSelector(selector: LabelSelector): CompiledSelector | { error: string } {
  const checks: CompiledSelector[] = [];
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    checks.push((labels) => Object.prototype.hasOwnProperty.call(labels, k) && labels[k] === v);
  }
  for (const e of selector.matchExpressions ?? []) {
    const values = e.values ?? [];
    const has = (labels: Readonly<Record<string, string>>): boolean => Object.prototype.hasOwnProperty.call(labels, e.key);
    switch (e.operator) {
      case 'In':
      case 'NotIn': {
        if (values.length === 0) return { error: `values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty` };
        const set = new Set(values);
        checks.push(
          e.operator === 'In'
            ? (labels) => has(labels) && set.has(labels[e.key]!)
            : (labels) => !has(labels) || !set.has(labels[e.key]!),
        );
        break;
      }
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) return { error: `values: Invalid value: ${JSON.stringify(values)}: values set must be empty for exists and does not exist` };
        checks.push(e.operator === 'Exists' ? has : (labels) => !has(labels));
        break;
      default:
        return { error: `${JSON.stringify(e.operator)} is not a valid label selector operator` };
    }
  }
  return (labels) => checks.every((c) => c(labels));
}
