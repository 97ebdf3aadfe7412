/**
 * What the agent needs from an API client: the subset of `@boundtoken/client`'s `KubeClientShape`
 * and `InformerShape` it uses, declared here so the agent depends on a narrow interface (and tests
 * can supply an in-memory double). The real client satisfies these structurally.
 */
import type { KubeObject } from '@boundtoken/api';

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  timeoutMs?: number;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export interface AgentClient {
  get<T extends KubeObject = KubeObject>(path: string, options?: RequestOptions): Promise<T>;
  create<T extends KubeObject = KubeObject>(path: string, body: unknown, options?: RequestOptions): Promise<T>;
  update<T extends KubeObject = KubeObject>(path: string, body: unknown, options?: RequestOptions): Promise<T>;
  patch<T extends KubeObject = KubeObject>(path: string, patch: unknown, type: PatchType, options?: RequestOptions): Promise<T>;
  delete<T = unknown>(path: string, body?: unknown, options?: RequestOptions): Promise<T>;
}

export interface InformerHandler<T> {
  add?: (obj: T) => void;
  update?: (obj: T, old: T) => void;
  delete?: (obj: T) => void;
  /** A list or watch failed (the informer retries by itself). */
  error?: (err: Error) => void;
}

/** List + watch of one collection into a map (`namespace/name` keys), relisting and reconnecting by itself. */
export interface Informer<T extends KubeObject = KubeObject> {
  /** Resolves after the first list has been delivered. */
  start(): Promise<void>;
  stop(): void;
  get(key: string): T | undefined;
  list(): T[];
  on(handler: InformerHandler<T>): () => void;
}

/** Makes an informer for a collection path and query (e.g. a field selector). */
export type InformerFactory = (options: { path: string; query?: Record<string, string> }) => Informer;

/** `/api/v1/namespaces/NS/RESOURCE[/NAME[/SUB]]` with each segment escaped. */
export function corePath(resource: string, namespace?: string, name?: string, subresource?: string): string {
  let p = '/api/v1';
  if (namespace !== undefined) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${resource}`;
  if (name !== undefined) p += `/${encodeURIComponent(name)}`;
  if (subresource !== undefined) p += `/${subresource}`;
  return p;
}
