/**
 * Field and label selector parsing for authorization attributes (what RequestInfo and the access
 * reviews hand to selector-aware authorizers). Parsing failures are reported, never thrown: a request
 * whose selector cannot be parsed is authorized as if it had none.
 */
import type { SelectorRequirement } from '../auth/types.js';

export type SelectorParse = { ok: true; requirements: SelectorRequirement[] } | { ok: false; error: string };

/** Splits on commas outside parentheses. */
function splitTerms(raw: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      terms.push(raw.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(raw.slice(start));
  return terms;
}

/** fields.ParseSelector: `a=b`, `a==b`, `a!=b`, comma-separated. */
export function parseFieldSelector(raw: string): SelectorParse {
  const requirements: SelectorRequirement[] = [];
  if (raw.trim() === '') return { ok: true, requirements };
  for (const part of raw.split(',')) {
    let m: RegExpExecArray | null;
    if ((m = /^([^=!]*)!=(.*)$/.exec(part))) requirements.push({ key: m[1]!, operator: '!=', values: [m[2]!] });
    else if ((m = /^([^=!]*)==(.*)$/.exec(part))) requirements.push({ key: m[1]!, operator: '=', values: [m[2]!] });
    else if ((m = /^([^=!]*)=(.*)$/.exec(part))) requirements.push({ key: m[1]!, operator: '=', values: [m[2]!] });
    else return { ok: false, error: `invalid selector: '${raw}'; can't understand '${part}'` };
  }
  return { ok: true, requirements };
}

const KEY = String.raw`[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?`;
const VALUE = String.raw`([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;
const exists = new RegExp(`^(${KEY})$`);
const notExists = new RegExp(`^!\\s*(${KEY})$`);
const equality = new RegExp(`^(${KEY})\\s*(==|!=|=)\\s*(${VALUE})$`);
const setBased = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\((.*)\\)$`);

/** labels.Parse: `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, comma-separated. */
export function parseLabelSelector(raw: string): SelectorParse {
  const requirements: SelectorRequirement[] = [];
  if (raw.trim() === '') return { ok: true, requirements };
  for (const term of splitTerms(raw)) {
    const t = term.trim();
    let m: RegExpExecArray | null;
    if ((m = notExists.exec(t))) requirements.push({ key: m[1]!, operator: '!', values: [] });
    else if ((m = exists.exec(t))) requirements.push({ key: m[1]!, operator: 'exists', values: [] });
    else if ((m = equality.exec(t))) {
      requirements.push({ key: m[1]!, operator: m[3] === '!=' ? '!=' : '=', values: [m[4] ?? ''] });
    } else if ((m = setBased.exec(t))) {
      const values = m[4]!.split(',').map((v) => v.trim());
      if (values.some((v) => !new RegExp(`^${VALUE}$`).test(v)) || (values.length === 1 && values[0] === '')) {
        return { ok: false, error: `unable to parse requirement: ${JSON.stringify(t)}` };
      }
      requirements.push({ key: m[1]!, operator: m[3] === 'in' ? 'in' : 'notin', values });
    } else {
      return { ok: false, error: `unable to parse requirement: ${JSON.stringify(t)}` };
    }
  }
  return { ok: true, requirements };
}

/** A metav1 selector requirement as sent in a SubjectAccessReview. */
export interface WireSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

/** fieldSelectorAsSelector: In/NotIn with exactly one value become `=`/`!=`; anything else fails. */
export function fieldRequirementsFromWire(list: readonly WireSelectorRequirement[]): SelectorParse {
  const requirements: SelectorRequirement[] = [];
  for (const r of list) {
    const values = r.values ?? [];
    if (values.length > 1) return { ok: false, error: 'fieldSelectors do not yet support multiple values' };
    switch (r.operator) {
      case 'In':
        if (values.length !== 1) return { ok: false, error: 'fieldSelectors in must have one value' };
        requirements.push({ key: r.key, operator: '=', values: [values[0]!] });
        break;
      case 'NotIn':
        if (values.length !== 1) return { ok: false, error: 'fieldSelectors not in must have one value' };
        requirements.push({ key: r.key, operator: '!=', values: [values[0]!] });
        break;
      case 'Exists':
      case 'DoesNotExist':
        return { ok: false, error: `fieldSelectors do not yet support ${r.operator}` };
      default:
        return { ok: false, error: `${JSON.stringify(r.operator)} is not a valid field selector operator` };
    }
  }
  return { ok: true, requirements };
}

/** labelSelectorAsSelector: In/NotIn need values, Exists/DoesNotExist none. */
export function labelRequirementsFromWire(list: readonly WireSelectorRequirement[]): SelectorParse {
  const requirements: SelectorRequirement[] = [];
  for (const r of list) {
    const values = [...(r.values ?? [])];
    switch (r.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) return { ok: false, error: `for 'in', 'notin' operators, values set can't be empty` };
        requirements.push({ key: r.key, operator: r.operator === 'In' ? 'in' : 'notin', values });
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) return { ok: false, error: 'values set must be empty for exists and does not exist' };
        requirements.push({ key: r.key, operator: r.operator === 'Exists' ? 'exists' : '!', values: [] });
        break;
      default:
        return { ok: false, error: `${JSON.stringify(r.operator)} is not a valid label selector operator` };
    }
  }
  return { ok: true, requirements };
}
