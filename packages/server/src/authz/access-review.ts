/**
 * The authorization.k8s.io/v1 access reviews (pkg/registry/authorization/*): SubjectAccessReview,
 * LocalSubjectAccessReview, SelfSubjectAccessReview and SelfSubjectRulesReview, as pure handlers that
 * take the decoded body and return the response object (`kubectl auth can-i` and `can-i --list` read
 * these). Validation failures throw Kubernetes' 422/400 StatusErrors.
 */
import { badRequest, field, invalid } from '@boundtoken/api';
import type { FieldError, PolicyRule } from '@boundtoken/api';
import type { AuthorizationAttributes, Authorizer, SelectorRequirement, UserInfo } from '../auth/types.js';
import {
  fieldRequirementsFromWire,
  labelRequirementsFromWire,
  parseFieldSelector,
  parseLabelSelector,
} from './selectors.js';
import type { SelectorParse, WireSelectorRequirement } from './selectors.js';
import type { RuleResolver } from './types.js';

const API_VERSION = 'authorization.k8s.io/v1';
const GROUP = 'authorization.k8s.io';

type Json = Record<string, unknown>;
const asObject = (v: unknown): Json | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);
const asString = (v: unknown): string => (typeof v === 'string' ? v : '');
const asStrings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);

interface SelectorAttributes {
  rawSelector: string;
  requirements: WireSelectorRequirement[];
}

interface ResourceAttributes {
  namespace: string;
  verb: string;
  group: string;
  version: string;
  resource: string;
  subresource: string;
  name: string;
  fieldSelector?: SelectorAttributes;
  labelSelector?: SelectorAttributes;
}

interface NonResourceAttributes {
  path: string;
  verb: string;
}

interface Spec {
  resourceAttributes?: ResourceAttributes;
  nonResourceAttributes?: NonResourceAttributes;
  user: string;
  groups: string[];
  extra: Record<string, string[]>;
  uid: string;
}

function parseSelectorAttributes(v: unknown): SelectorAttributes | undefined {
  const o = asObject(v);
  if (!o) return undefined;
  const requirements: WireSelectorRequirement[] = [];
  for (const r of Array.isArray(o.requirements) ? o.requirements : []) {
    const ro = asObject(r);
    if (ro) requirements.push({ key: asString(ro.key), operator: asString(ro.operator), values: asStrings(ro.values) });
  }
  return { rawSelector: asString(o.rawSelector), requirements };
}

function parseSpec(v: unknown): Spec {
  const s = asObject(v) ?? {};
  const ra = asObject(s.resourceAttributes);
  const na = asObject(s.nonResourceAttributes);
  const extra: Record<string, string[]> = {};
  for (const [k, vals] of Object.entries(asObject(s.extra) ?? {})) extra[k] = asStrings(vals);
  const spec: Spec = { user: asString(s.user), groups: asStrings(s.groups), extra, uid: asString(s.uid) };
  if (ra) {
    spec.resourceAttributes = {
      namespace: asString(ra.namespace),
      verb: asString(ra.verb),
      group: asString(ra.group),
      version: asString(ra.version),
      resource: asString(ra.resource),
      subresource: asString(ra.subresource),
      name: asString(ra.name),
    };
    const fs = parseSelectorAttributes(ra.fieldSelector);
    const ls = parseSelectorAttributes(ra.labelSelector);
    if (fs) spec.resourceAttributes.fieldSelector = fs;
    if (ls) spec.resourceAttributes.labelSelector = ls;
  }
  if (na) spec.nonResourceAttributes = { path: asString(na.path), verb: asString(na.verb) };
  return spec;
}

function selectorErrors(sel: SelectorAttributes | undefined, path: string): FieldError[] {
  if (!sel) return [];
  const errors: FieldError[] = [];
  if (sel.rawSelector && sel.requirements.length > 0) {
    errors.push(field.invalid(`${path}.rawSelector`, sel.rawSelector, 'may not specified at the same time as requirements'));
  }
  if (!sel.rawSelector && sel.requirements.length === 0) {
    errors.push(field.required(`${path}.requirements`, `when ${path} is specified, requirements or rawSelector is required`));
  }
  return errors;
}

/** The spec checks every review shares: exactly one of the attribute kinds, valid selectors. */
function attributeErrors(spec: Spec): FieldError[] {
  const errors: FieldError[] = [];
  if (spec.resourceAttributes && spec.nonResourceAttributes) {
    errors.push(field.invalid('spec.nonResourceAttributes', spec.nonResourceAttributes, 'cannot be specified in combination with resourceAttributes'));
  }
  if (!spec.resourceAttributes && !spec.nonResourceAttributes) {
    errors.push(field.invalid('spec.resourceAttributes', 'null', 'exactly one of nonResourceAttributes or resourceAttributes must be specified'));
  }
  return errors;
}

function resourceAttributeErrors(spec: Spec): FieldError[] {
  const ra = spec.resourceAttributes;
  if (!ra) return [];
  return [
    ...selectorErrors(ra.fieldSelector, 'spec.resourceAttributes.fieldSelector'),
    ...selectorErrors(ra.labelSelector, 'spec.resourceAttributes.labelSelector'),
  ];
}

/** Whether metadata is empty as Go's reflect.DeepEqual(ObjectMeta{}, meta) sees it (managedFields and `allow` ignored). */
function metadataSetFields(meta: Json | undefined, allow: readonly string[] = []): boolean {
  for (const [k, v] of Object.entries(meta ?? {})) {
    if (k === 'managedFields' || allow.includes(k)) continue;
    if (v === null || v === undefined || v === '' || v === 0 || v === false) continue;
    return true;
  }
  return false;
}

function invalidReview(errors: FieldError[]): never {
  // The decoded internal object carries no kind, so Kubernetes names it `.authorization.k8s.io ""`.
  throw invalid({ group: GROUP, kind: '' }, '', errors);
}

interface Attributes {
  attrs: AuthorizationAttributes;
  /** Selector parse failures, reported in status.evaluationError. */
  selectorErrors: string[];
}

function parsedSelector(sel: SelectorAttributes | undefined, raw: (s: string) => SelectorParse, wire: (l: WireSelectorRequirement[]) => SelectorParse): SelectorParse | undefined {
  if (!sel) return undefined;
  let parsed: SelectorParse | undefined;
  if (sel.rawSelector) parsed = raw(sel.rawSelector);
  if (sel.requirements.length > 0) parsed = wire(sel.requirements);
  return parsed;
}

/** authorizationutil.ResourceAttributesFrom / NonResourceAttributesFrom. */
function attributesFrom(user: UserInfo, spec: Spec): Attributes {
  const base = { user, path: '', namespace: '', apiGroup: '', apiVersion: '', resource: '', subresource: '', name: '' };
  const ra = spec.resourceAttributes;
  if (!ra) {
    const na = spec.nonResourceAttributes!;
    return { attrs: { ...base, verb: na.verb, resourceRequest: false, path: na.path }, selectorErrors: [] };
  }
  const attrs: AuthorizationAttributes = {
    ...base,
    verb: ra.verb,
    resourceRequest: true,
    namespace: ra.namespace,
    apiGroup: ra.group,
    apiVersion: ra.version || '*',
    resource: ra.resource,
    subresource: ra.subresource,
    name: ra.name,
  };
  const selectorErrors: string[] = [];
  const fields = parsedSelector(ra.fieldSelector, parseFieldSelector, fieldRequirementsFromWire);
  const labels = parsedSelector(ra.labelSelector, parseLabelSelector, labelRequirementsFromWire);
  const apply = (p: SelectorParse | undefined, set: (r: SelectorRequirement[]) => void, what: string): void => {
    if (!p) return;
    if (p.ok) set(p.requirements);
    else selectorErrors.push(`spec.resourceAttributes.${what} ignored due to parse error`);
  };
  apply(fields, (r) => (attrs.fieldSelector = r), 'fieldSelector');
  apply(labels, (r) => (attrs.labelSelector = r), 'labelSelector');
  return { attrs, selectorErrors };
}

export interface AccessReviewStatus {
  allowed: boolean;
  denied?: boolean;
  reason?: string;
  evaluationError?: string;
}

export interface AccessReviewResponse {
  kind: string;
  apiVersion: string;
  metadata: { namespace?: string; creationTimestamp: null };
  spec: Record<string, unknown>;
  status: AccessReviewStatus;
}

const omitEmpty = (o: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    out[k] = v;
  }
  return out;
};

const echoSelector = (s: SelectorAttributes | undefined): Record<string, unknown> | undefined =>
  s ? omitEmpty({ rawSelector: s.rawSelector, requirements: s.requirements.map((r) => omitEmpty({ ...r })) }) : undefined;

/** The spec as Kubernetes serializes it back: empty fields omitted. */
function echoSpec(spec: Spec, self: boolean): Record<string, unknown> {
  const ra = spec.resourceAttributes;
  const out = omitEmpty({
    resourceAttributes: ra
      ? omitEmpty({
          namespace: ra.namespace,
          verb: ra.verb,
          group: ra.group,
          version: ra.version,
          resource: ra.resource,
          subresource: ra.subresource,
          name: ra.name,
          fieldSelector: echoSelector(ra.fieldSelector),
          labelSelector: echoSelector(ra.labelSelector),
        })
      : undefined,
    nonResourceAttributes: spec.nonResourceAttributes ? omitEmpty({ ...spec.nonResourceAttributes }) : undefined,
    ...(self ? {} : { user: spec.user, groups: spec.groups, extra: spec.extra, uid: spec.uid }),
  });
  // An explicitly empty attributes object is still echoed.
  if (ra && !out.resourceAttributes) out.resourceAttributes = {};
  if (spec.nonResourceAttributes && !out.nonResourceAttributes) out.nonResourceAttributes = {};
  return out;
}

function decide(authorizer: Authorizer, a: Attributes): AccessReviewStatus {
  const d = authorizer.authorize(a.attrs);
  const status: AccessReviewStatus = { allowed: d.decision === 'allow' };
  if (d.decision === 'deny') status.denied = true;
  if (d.reason) status.reason = d.reason;
  if (a.selectorErrors.length > 0) status.evaluationError = a.selectorErrors.join('; ');
  return status;
}

function requireObject(body: unknown, kind: string): Json {
  const o = asObject(body);
  if (!o) throw badRequest(`not a ${kind}: ${body === null ? 'null' : Array.isArray(body) ? 'array' : typeof body}`);
  return o;
}

/** POST /apis/authorization.k8s.io/v1/subjectaccessreviews: may `spec.user`/`spec.groups` do this? */
export function subjectAccessReview(body: unknown, authorizer: Authorizer): AccessReviewResponse {
  const o = requireObject(body, 'SubjectAccessReview');
  const spec = parseSpec(o.spec);
  const errors = attributeErrors(spec);
  if (!spec.user && spec.groups.length === 0) errors.push(field.invalid('spec.user', spec.user, 'at least one of user or group must be specified'));
  errors.push(...resourceAttributeErrors(spec));
  if (metadataSetFields(asObject(o.metadata))) errors.push(field.invalid('metadata', o.metadata, 'must be empty'));
  if (errors.length > 0) invalidReview(errors);

  const user: UserInfo = { name: spec.user, uid: spec.uid, groups: spec.groups, extra: spec.extra };
  return {
    kind: 'SubjectAccessReview',
    apiVersion: API_VERSION,
    metadata: { creationTimestamp: null },
    spec: echoSpec(spec, false),
    status: decide(authorizer, attributesFrom(user, spec)),
  };
}

/**
 * POST /apis/authorization.k8s.io/v1/namespaces/{namespace}/localsubjectaccessreviews: a
 * SubjectAccessReview confined to the URL's namespace.
 */
export function localSubjectAccessReview(body: unknown, namespace: string, authorizer: Authorizer): AccessReviewResponse {
  const o = requireObject(body, 'LocalSubjectAccessReview');
  const meta = asObject(o.metadata) ?? {};
  const objectNamespace = asString(meta.namespace) || namespace;
  if (namespace && objectNamespace !== namespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  const spec = parseSpec(o.spec);
  const errors = attributeErrors(spec);
  if (!spec.user && spec.groups.length === 0) errors.push(field.invalid('spec.user', spec.user, 'at least one of user or group must be specified'));
  errors.push(...resourceAttributeErrors(spec));
  if (metadataSetFields(meta, ['namespace'])) errors.push(field.invalid('metadata', o.metadata, 'must be empty except for namespace'));
  if (spec.resourceAttributes && spec.resourceAttributes.namespace !== objectNamespace) {
    errors.push(field.invalid('spec.resourceAttributes.namespace', spec.resourceAttributes.namespace, 'must match metadata.namespace'));
  }
  if (spec.nonResourceAttributes) {
    errors.push(field.invalid('spec.nonResourceAttributes', spec.nonResourceAttributes, 'disallowed on this kind of request'));
  }
  if (errors.length > 0) invalidReview(errors);
  if (!namespace) throw badRequest(`namespace is required on this type: ${namespace}`);

  const user: UserInfo = { name: spec.user, uid: spec.uid, groups: spec.groups, extra: spec.extra };
  return {
    kind: 'LocalSubjectAccessReview',
    apiVersion: API_VERSION,
    metadata: { namespace: objectNamespace, creationTimestamp: null },
    spec: echoSpec(spec, false),
    status: decide(authorizer, attributesFrom(user, spec)),
  };
}

/** POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews: may I do this? (`kubectl auth can-i`) */
export function selfSubjectAccessReview(body: unknown, user: UserInfo, authorizer: Authorizer): AccessReviewResponse {
  const o = requireObject(body, 'SelfSubjectAccessReview');
  const spec = parseSpec(o.spec);
  const errors = [...attributeErrors(spec), ...resourceAttributeErrors(spec)];
  if (metadataSetFields(asObject(o.metadata))) errors.push(field.invalid('metadata', o.metadata, 'must be empty'));
  if (errors.length > 0) invalidReview(errors);
  return {
    kind: 'SelfSubjectAccessReview',
    apiVersion: API_VERSION,
    metadata: { creationTimestamp: null },
    spec: echoSpec(spec, true),
    status: decide(authorizer, attributesFrom(user, spec)),
  };
}

export interface RulesReviewResponse {
  kind: 'SelfSubjectRulesReview';
  apiVersion: string;
  metadata: { creationTimestamp: null };
  spec: Record<string, never>;
  status: {
    resourceRules: Array<{ verbs: string[]; apiGroups?: string[]; resources?: string[]; resourceNames?: string[] }>;
    nonResourceRules: Array<{ verbs: string[]; nonResourceURLs?: string[] }>;
    incomplete: boolean;
    evaluationError?: string;
  };
}

const copyList = (l: readonly string[] | undefined): string[] | undefined => (l && l.length > 0 ? [...l] : undefined);

/** POST /apis/authorization.k8s.io/v1/selfsubjectrulesreviews: what may I do in `spec.namespace`? (`kubectl auth can-i --list`) */
export function selfSubjectRulesReview(body: unknown, user: UserInfo, resolver: RuleResolver): RulesReviewResponse {
  const o = requireObject(body, 'SelfSubjectRulesReview');
  const namespace = asString(asObject(o.spec)?.namespace);
  if (!namespace) throw badRequest('no namespace on request');
  const r = resolver.rulesFor(user, namespace);
  const resourceRules = r.resourceRules.map((rule: PolicyRule) => {
    const out: RulesReviewResponse['status']['resourceRules'][number] = { verbs: [...(rule.verbs ?? [])] };
    const apiGroups = copyList(rule.apiGroups);
    const resources = copyList(rule.resources);
    const resourceNames = copyList(rule.resourceNames);
    if (apiGroups) out.apiGroups = apiGroups;
    if (resources) out.resources = resources;
    if (resourceNames) out.resourceNames = resourceNames;
    return out;
  });
  const nonResourceRules = r.nonResourceRules.map((rule: PolicyRule) => {
    const out: RulesReviewResponse['status']['nonResourceRules'][number] = { verbs: [...(rule.verbs ?? [])] };
    const urls = copyList(rule.nonResourceURLs);
    if (urls) out.nonResourceURLs = urls;
    return out;
  });
  return {
    kind: 'SelfSubjectRulesReview',
    apiVersion: API_VERSION,
    metadata: { creationTimestamp: null },
    spec: {},
    status: {
      resourceRules,
      nonResourceRules,
      incomplete: r.incomplete,
      ...(r.evaluationError ? { evaluationError: r.evaluationError } : {}),
    },
  };
}
