/**
 * The shape of one served resource (its "strategy", in Kubernetes terms) and of the context a
 * registry operation runs in.
 */
import type { FieldError, KubeObject } from '@boundtoken/api';
import type { UserInfo } from '../auth/types.js';

export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format?: string;
  description: string;
  /** 0: shown by default; 1: only with `-o wide`. */
  priority: number;
}

/** Who runs an operation and with which options; one per request (or controller action). */
export interface OperationContext {
  user: UserInfo;
  now: Date;
  /** `dryRun=All`: validate and admit, never persist. */
  dryRun: boolean;
  /** `fieldManager` (or the user agent's), for managedFields. */
  fieldManager: string;
  fieldValidation: 'Strict' | 'Warn' | 'Ignore';
  /** Warnings for the response's `Warning` headers. */
  warnings: string[];
  /** The subresource being written (`status`), or ''. */
  subresource: string;
  /** managedFields were already computed (server-side apply): do not track this write again. */
  managedFieldsDone?: boolean;
}

export interface ResourceDef<T extends KubeObject = KubeObject> {
  group: string;
  version: string;
  /** Plural, lower case: `pods`. */
  resource: string;
  kind: string;
  listKind: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  namespaced: boolean;
  /** Verbs for discovery and for the generic handler. */
  verbs: string[];
  /** Has a `status` subresource: create/update ignore status, `/status` writes only status. */
  hasStatus: boolean;
  /** `metadata.generation` counts spec changes. */
  generation: boolean;
  /** PUT of a missing object creates it. */
  allowCreateOnUpdate: boolean;
  /** PUT without `metadata.resourceVersion` is allowed (last writer wins). */
  allowUnconditionalUpdate: boolean;
  /** Extra selectable fields beyond metadata.name / metadata.namespace. */
  selectableFields?: (obj: T) => Record<string, string>;
  /** Defaulting, on every create and update (mutates a copy the registry owns). */
  defaults?: (obj: T) => void;
  /** Resets what a client may not set on create (e.g. status). */
  prepareForCreate?: (obj: T, ctx: OperationContext) => void;
  prepareForUpdate?: (obj: T, old: T, ctx: OperationContext) => void;
  validate?: (obj: T, ctx: OperationContext) => FieldError[];
  validateUpdate?: (obj: T, old: T, ctx: OperationContext) => FieldError[];
  /** Table columns and the cells of one row (for `kubectl get`). */
  table: {
    columns: TableColumn[];
    cells: (obj: T, now: Date) => unknown[];
  };
  /**
   * Deletion policy: return the grace period in seconds to apply (0 = delete now), given the
   * requested one. Pods bound to a node are deleted gracefully.
   */
  gracePeriod?: (obj: T, requested: number | undefined) => number;
  /** Custom subresources (`serviceaccounts/token`, `pods/binding`), by name. */
  subresources?: Record<string, { kind: string; group?: string; version?: string; verbs: string[] }>;
  /** Objects of this resource expire (events: one hour). */
  ttlSeconds?: number;
}

export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'] as const;
