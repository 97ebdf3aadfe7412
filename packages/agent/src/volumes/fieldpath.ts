/**
 * Downward API field references (pkg/fieldpath/fieldpath.go): `metadata.name`, `metadata.namespace`,
 * `metadata.uid`, `metadata.labels`, `metadata.annotations`, and one key of a map with
 * `metadata.labels['key']`. Maps are written as sorted `key="value"` lines, values quoted as Go's %q.
 *
 * Kubernetes' API validation allows only those metadata fields in downward API *volumes*; the
 * kubelet resolves `spec.nodeName`, `spec.serviceAccountName`, `status.hostIP(s)` and
 * `status.podIP(s)` for environment variables only. The agent resolves them in volumes too, from
 * the pod as the agent sees it, for servers that accept them.
 */
import type { Pod } from '@boundtoken/api';
import { AgentError } from '../errors.js';
import { goQuote } from '@boundtoken/api';

/** `metadata.labels['key']` → [`metadata.labels`, `key`]; undefined when not subscripted. */
export function splitMaybeSubscriptedPath(fieldPath: string): [string, string] | undefined {
  if (!fieldPath.endsWith("']")) return undefined;
  const s = fieldPath.slice(0, -2);
  const i = s.indexOf("['");
  if (i <= 0) return undefined;
  return [s.slice(0, i), s.slice(i + 2)];
}

/** Sorted `key="value"` lines joined by newlines (no trailing newline), like fieldpath.FormatMap. */
export function formatMap(m: Record<string, string> | undefined): string {
  if (!m) return '';
  return Object.keys(m)
    .sort(byBytes)
    .map((k) => `${k}=${goQuote(m[k]!)}`)
    .join('\n');
}

/** Go sorts strings by bytes; JS by UTF-16 code units. They differ only around surrogates. */
function byBytes(a: string, b: string): number {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return Buffer.compare(ba, bb);
}

export function extractFieldPathAsString(pod: Pod, fieldPath: string): string {
  const meta = pod.metadata ?? {};
  const sub = splitMaybeSubscriptedPath(fieldPath);
  if (sub) {
    const [path, key] = sub;
    switch (path) {
      case 'metadata.annotations': {
        const errs = qualifiedNameErrors(key.toLowerCase());
        if (errs.length > 0) throw invalidSubscript(fieldPath, errs);
        return meta.annotations?.[key] ?? '';
      }
      case 'metadata.labels': {
        const errs = qualifiedNameErrors(key);
        if (errs.length > 0) throw invalidSubscript(fieldPath, errs);
        return meta.labels?.[key] ?? '';
      }
      default:
        throw new AgentError('ERR_FIELD_PATH', `fieldPath ${JSON.stringify(path)} does not support subscript`);
    }
  }
  switch (fieldPath) {
    case 'metadata.annotations':
      return formatMap(meta.annotations);
    case 'metadata.labels':
      return formatMap(meta.labels);
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? '';
    case 'metadata.uid':
      return meta.uid ?? '';
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
      return pod.status?.hostIPs?.[0]?.ip ?? pod.status?.hostIP ?? '';
    case 'status.hostIPs':
      return (pod.status?.hostIPs ?? []).map((x) => x.ip).join(',') || (pod.status?.hostIP ?? '');
    case 'status.podIP':
      return pod.status?.podIPs?.[0]?.ip ?? pod.status?.podIP ?? '';
    case 'status.podIPs':
      return (pod.status?.podIPs ?? []).map((x) => x.ip).join(',') || (pod.status?.podIP ?? '');
  }
  throw new AgentError('ERR_FIELD_PATH', `unsupported fieldPath: ${fieldPath}`);
}

function invalidSubscript(fieldPath: string, errs: string[]): AgentError {
  return new AgentError('ERR_FIELD_PATH', `invalid key subscript in ${fieldPath}: ${errs.join(';')}`);
}

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_FMT =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

/** validation.IsQualifiedName: `[prefix/]name`, the prefix a DNS subdomain, the name ≤ 63 characters. */
export function qualifiedNameErrors(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0]!;
  } else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else if (prefix.length > 253) errs.push('prefix part must be no more than 253 characters');
    else if (!DNS1123_SUBDOMAIN.test(prefix)) {
      errs.push(
        "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      );
    }
  } else {
    return [
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push('name part must be no more than 63 characters');
  if (!QUALIFIED_NAME.test(name)) errs.push(QUALIFIED_NAME_FMT);
  return errs;
}
