/**
 * Label and field selectors (k8s.io/apimachinery/pkg/labels and pkg/fields): parsing the query
 * string forms and matching objects against them.
 */
import { badRequest } from '@boundtoken/api';
import type { SelectorRequirement } from '../auth/types.js';

export type { SelectorRequirement };

const labelKey = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Splits on commas that are not inside parentheses. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((t) => t.trim()).filter((t) => t !== '');
}

function checkLabelKey(key: string, selector: string): void {
  if (!labelKey.test(key) || key.length > 317) {
    throw badRequest(`unable to parse requirement: invalid label key "${key}": in selector "${selector}"`);
  }
}

function checkLabelValue(value: string): void {
  if (value.length > 63 || !labelValue.test(value)) {
    throw badRequest(
      `unable to parse requirement: values[0][${value}]: Invalid value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
    );
  }
}

/** `app=web,tier!=db,env in (a,b),release notin (x),gpu,!legacy` */
export function parseLabelSelector(selector: string): SelectorRequirement[] {
  const reqs: SelectorRequirement[] = [];
  for (const term of splitTerms(selector)) {
    let m: RegExpMatchArray | null;
    if ((m = term.match(/^(\S+?)\s+(in|notin)\s*\((.*)\)$/))) {
      const key = m[1]!;
      checkLabelKey(key, selector);
      const values = m[3]!
        .split(',')
        .map((v) => v.trim())
        .filter((v, _i, all) => v !== '' || all.length === 1);
      values.forEach(checkLabelValue);
      reqs.push({ key, operator: m[2] as 'in' | 'notin', values });
    } else if ((m = term.match(/^(\S+?)\s*(==|!=|=)\s*(\S*)$/))) {
      const key = m[1]!;
      checkLabelKey(key, selector);
      checkLabelValue(m[3]!);
      reqs.push({ key, operator: m[2] === '!=' ? '!=' : '=', values: [m[3]!] });
    } else if ((m = term.match(/^!\s*(\S+)$/))) {
      checkLabelKey(m[1]!, selector);
      reqs.push({ key: m[1]!, operator: '!', values: [] });
    } else if (/^\S+$/.test(term) && !/[=!()<>]/.test(term)) {
      checkLabelKey(term, selector);
      reqs.push({ key: term, operator: 'exists', values: [] });
    } else {
      throw badRequest(`unable to parse requirement: found '${term}', expected: identifier`);
    }
  }
  return reqs;
}

/** `metadata.name=x,spec.nodeName!=n` (only `=`, `==` and `!=`). */
export function parseFieldSelector(selector: string): SelectorRequirement[] {
  const reqs: SelectorRequirement[] = [];
  for (const term of splitTerms(selector)) {
    const m = term.match(/^([^=!\s]+)\s*(==|!=|=)\s*(.*)$/);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    reqs.push({ key: m[1]!, operator: m[2] === '!=' ? '!=' : '=', values: [m[3]!.trim()] });
  }
  return reqs;
}

export function matchLabels(reqs: SelectorRequirement[], labels: Record<string, string> | undefined): boolean {
  for (const r of reqs) {
    const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
    const v = has ? labels![r.key] : undefined;
    switch (r.operator) {
      case '=':
        if (v !== r.values[0]) return false;
        break;
      case '!=':
        if (v === r.values[0]) return false;
        break;
      case 'in':
        if (v === undefined || !r.values.includes(v)) return false;
        break;
      case 'notin':
        if (v !== undefined && r.values.includes(v)) return false;
        break;
      case 'exists':
        if (!has) return false;
        break;
      case '!':
        if (has) return false;
        break;
    }
  }
  return true;
}

/** Matches field requirements against an object's selectable fields. */
export function matchFields(reqs: SelectorRequirement[], fields: Record<string, string>): boolean {
  for (const r of reqs) {
    const v = fields[r.key] ?? '';
    if (r.operator === '=' && v !== r.values[0]) return false;
    if (r.operator === '!=' && v === r.values[0]) return false;
  }
  return true;
}

/** The `matchLabels`/`matchExpressions` of a metav1.LabelSelector, for controllers. */
export function matchLabelSelector(
  selector: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] },
  labels: Record<string, string> | undefined,
): boolean {
  const reqs: SelectorRequirement[] = [];
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) reqs.push({ key: k, operator: '=', values: [v] });
  for (const e of selector.matchExpressions ?? []) {
    const op = e.operator === 'In' ? 'in' : e.operator === 'NotIn' ? 'notin' : e.operator === 'Exists' ? 'exists' : '!';
    reqs.push({ key: e.key, operator: op, values: e.values ?? [] });
  }
  return matchLabels(reqs, labels);
}
