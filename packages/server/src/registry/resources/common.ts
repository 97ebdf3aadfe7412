/** Shared pieces of the resource definitions: ages, table helpers, metadata validation. */
import type { FieldError, KubeObject } from '@boundtoken/api';
import { validateObjectMeta, validateObjectMetaUpdate } from '../validation/meta.js';
import type { NameValidator } from '../validation/names.js';
import type { ResourceDef, TableColumn } from '../types.js';

/** Kubernetes' HumanDuration (k8s.io/apimachinery/pkg/util/duration). */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(seconds / 3600);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    const y = Math.floor(hours / 24 / 365);
    return dy === 0 ? `${y}y` : `${y}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

/** `translateTimestampSince`: age of a timestamp, `<unknown>` when absent. */
export function age(timestamp: string | undefined, now: Date): string {
  if (!timestamp) return '<unknown>';
  return humanDuration(now.getTime() - Date.parse(timestamp));
}

export const nameColumn: TableColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  priority: 0,
};

export const ageColumn: TableColumn = {
  name: 'Age',
  type: 'string',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
  priority: 0,
};

export function metaValidation<T extends KubeObject>(
  namespaced: boolean,
  nameValidator: NameValidator,
  extra?: (obj: T) => FieldError[],
  extraUpdate?: (obj: T, old: T) => FieldError[],
): Pick<ResourceDef<T>, 'validate' | 'validateUpdate'> {
  return {
    validate: (obj) => [...validateObjectMeta(obj.metadata, namespaced, nameValidator), ...(extra?.(obj) ?? [])],
    validateUpdate: (obj, old) => [
      ...validateObjectMeta(obj.metadata, namespaced, nameValidator),
      ...validateObjectMetaUpdate(obj.metadata!, old.metadata!),
      ...(extra?.(obj) ?? []),
      ...(extraUpdate?.(obj, old) ?? []),
    ],
  };
}

export const standardVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** Defaults shared by every definition. */
export function resource<T extends KubeObject>(
  def: Partial<ResourceDef<T>> & Pick<ResourceDef<T>, 'resource' | 'kind' | 'namespaced' | 'table'>,
): ResourceDef<T> {
  return {
    group: '',
    version: 'v1',
    listKind: `${def.kind}List`,
    singular: def.kind.toLowerCase(),
    shortNames: [],
    categories: [],
    verbs: standardVerbs,
    hasStatus: false,
    generation: false,
    allowCreateOnUpdate: false,
    allowUnconditionalUpdate: true,
    ...def,
  };
}
