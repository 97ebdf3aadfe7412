/**
 * The small Kubernetes API client the SDK (online verification, in-cluster config) and the node
 * agent use. It speaks JSON over HTTPS to any Kubernetes API server (boundtoken's or a real one).
 *
 * This file is the contract; `client.ts` (createKubeClient), `paths.ts` (resourcePath),
 * `kubeconfig.ts`, `in-cluster.ts` and `informer.ts` (createInformer) implement it.
 */
import type { KubeObject, Status, WatchEvent } from '@boundtoken/api';

/** Where the API server is and how to authenticate to it (what a kubeconfig context resolves to). */
export interface ClusterConnection {
  /** `https://host:port` (no trailing slash). */
  server: string;
  /** PEM CA bundle to trust; undefined: the system roots. */
  ca?: string | Buffer;
  /** Skip server certificate verification (kubeconfig `insecure-skip-tls-verify`). */
  insecureSkipTLSVerify?: boolean;
  /** TLS server name to verify, when it differs from the host (kubeconfig `tls-server-name`). */
  tlsServerName?: string;
  /** Client certificate and key (PEM). */
  clientCert?: string | Buffer;
  clientKey?: string | Buffer;
  /** A bearer token, or a function returning the current one (for rotating token files). */
  token?: string | (() => string);
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  /** Overall deadline for the request (default 30 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Extra request headers. */
  headers?: Record<string, string>;
}

export interface ApiResponse<T> {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

/** A non-2xx answer from the API server; `status` is the server's `Status` body when it sent one. */
export interface ApiErrorShape extends Error {
  readonly code: 'ERR_API_STATUS' | 'ERR_API_CONNECTION' | 'ERR_API_TIMEOUT' | 'ERR_API_RESPONSE';
  readonly statusCode: number | undefined;
  readonly status: Status | undefined;
  /** `reason` of the Status (`NotFound`, `Conflict`, `Expired`, …) when there is one. */
  readonly reason: string | undefined;
}

export interface WatchOptions extends RequestOptions {
  /** Called for every event line (`ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK`, `ERROR`). */
  onEvent: (event: WatchEvent) => void;
  /**
   * Called once when the stream ends: with an error, or undefined when the server closed it.
   * Not called after `stop()`. For a watch, `timeoutMs` bounds only the wait for the response
   * headers; the stream itself may stay open as long as the server keeps it.
   */
  onClose: (err?: Error) => void;
}

export interface WatchHandle {
  stop(): void;
}

export interface KubeClientShape {
  readonly connection: ClusterConnection;
  /** Any request; `body` is sent as JSON unless it is a Buffer/string with a content type given. */
  request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    options?: RequestOptions & { contentType?: string },
  ): Promise<ApiResponse<T>>;
  get<T extends KubeObject = KubeObject>(path: string, options?: RequestOptions): Promise<T>;
  list<T extends KubeObject = KubeObject>(
    path: string,
    options?: RequestOptions,
  ): Promise<{ metadata: { resourceVersion?: string; continue?: string }; items: T[] }>;
  create<T extends KubeObject = KubeObject>(path: string, body: unknown, options?: RequestOptions): Promise<T>;
  update<T extends KubeObject = KubeObject>(path: string, body: unknown, options?: RequestOptions): Promise<T>;
  patch<T extends KubeObject = KubeObject>(
    path: string,
    patch: unknown,
    type: PatchType,
    options?: RequestOptions,
  ): Promise<T>;
  delete<T = unknown>(path: string, body?: unknown, options?: RequestOptions): Promise<T>;
  /** `?watch=1` stream of `{"type","object"}` lines. */
  watch(path: string, options: WatchOptions): WatchHandle;
  /** Closes idle keep-alive sockets. */
  close(): void;
}

/** `/api/v1/namespaces/ns/pods/name/status`-style paths from parts. */
export interface ResourceRef {
  group?: string;
  version?: string;
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/**
 * An informer: list + watch of one collection into a map, relisting on 410 Expired and
 * reconnecting after errors with backoff.
 */
export interface InformerShape<T extends KubeObject = KubeObject> {
  /** Resolves after the first list has been delivered. */
  start(): Promise<void>;
  stop(): void;
  /** `namespace/name` (or `name` for cluster-scoped objects) → object. */
  get(key: string): T | undefined;
  list(): T[];
  /** The resourceVersion of the last event or list. */
  readonly resourceVersion: string;
  on(handler: {
    add?: (obj: T) => void;
    update?: (obj: T, old: T) => void;
    delete?: (obj: T) => void;
  }): () => void;
}
