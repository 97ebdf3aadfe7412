/** ObjectMeta validation on create and update (k8s.io/apimachinery/pkg/api/validation/objectmeta.go). */
import { field, type FieldError, type ObjectMeta } from '@boundtoken/api';
import { isDNS1123Label, isQualifiedName, isValidLabelValue, type NameValidator } from './names.js';

const totalAnnotationSizeLimit = 256 * 1024;

export function validateLabels(labels: Record<string, string> | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    for (const m of isQualifiedName(k)) errs.push(field.invalid(path, k, m));
    if (typeof v !== 'string') {
      errs.push(field.invalid(`${path}[${k}]`, v, 'must be a string'));
      continue;
    }
    for (const m of isValidLabelValue(v)) errs.push(field.invalid(path, v, m));
  }
  return errs;
}

export function validateAnnotations(annotations: Record<string, string> | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(annotations ?? {})) {
    for (const m of isQualifiedName(k.toLowerCase())) errs.push(field.invalid(path, k, m));
    size += k.length + (typeof v === 'string' ? v.length : 0);
  }
  if (size > totalAnnotationSizeLimit) {
    errs.push(field.tooLong(path, '', totalAnnotationSizeLimit));
  }
  return errs;
}

export function validateObjectMeta(
  meta: ObjectMeta | undefined,
  namespaced: boolean,
  nameValidator: NameValidator,
): FieldError[] {
  const errs: FieldError[] = [];
  const m = meta ?? {};
  if (m.generateName && !m.name) {
    // the generated name is validated once produced; the prefix alone must be acceptable
    for (const msg of nameValidator(m.generateName.replace(/-$/, 'a').replace(/\.$/, 'a'))) {
      errs.push(field.invalid('metadata.generateName', m.generateName, msg));
    }
  }
  if (!m.name) {
    if (!m.generateName) errs.push(field.required('metadata.name', 'name or generateName is required'));
  } else {
    for (const msg of nameValidator(m.name)) errs.push(field.invalid('metadata.name', m.name, msg));
  }
  if (namespaced) {
    if (!m.namespace) errs.push(field.required('metadata.namespace', ''));
    else for (const msg of isDNS1123Label(m.namespace)) errs.push(field.invalid('metadata.namespace', m.namespace, msg));
  } else if (m.namespace) {
    errs.push(field.forbidden('metadata.namespace', 'not allowed on this type'));
  }
  errs.push(...validateLabels(m.labels, 'metadata.labels'));
  errs.push(...validateAnnotations(m.annotations, 'metadata.annotations'));
  for (const f of m.finalizers ?? []) {
    for (const msg of isQualifiedName(f)) errs.push(field.invalid('metadata.finalizers', f, msg));
  }
  return errs;
}

export function validateObjectMetaUpdate(meta: ObjectMeta, old: ObjectMeta): FieldError[] {
  const errs: FieldError[] = [];
  if (meta.name !== old.name) errs.push(field.invalid('metadata.name', meta.name, 'field is immutable'));
  if ((meta.namespace ?? '') !== (old.namespace ?? '')) {
    errs.push(field.invalid('metadata.namespace', meta.namespace, 'field is immutable'));
  }
  if (meta.uid && meta.uid !== old.uid) errs.push(field.invalid('metadata.uid', meta.uid, 'field is immutable'));
  return errs;
}
