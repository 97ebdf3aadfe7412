/**
 * An in-memory Kubernetes API for the agent's tests: objects keyed by path, resourceVersions,
 * optimistic concurrency, merge patches, graceful deletion, field-selected informers, a
 * TokenRequest handler, and fault injection. It implements the agent's `AgentClient` and
 * `InformerFactory`, the same shapes `@boundtoken/client` provides.
 */
import type { KubeObject, TokenRequest } from '@boundtoken/api';
import type { AgentClient, Informer, InformerHandler, PatchType, RequestOptions } from '../src/client.ts';

/** Like the real client's ApiError: the message has a prefix, the Status has the server's text. */
export class FakeApiError extends Error {
  readonly code = 'ERR_API_STATUS';
  readonly status: { kind: 'Status'; apiVersion: 'v1'; status: 'Failure'; code: number; reason: string; message: string };
  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message: string,
  ) {
    super(`fake API: ${statusCode} ${message}`);
    this.status = { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: statusCode, reason, message };
  }
}

export interface Call {
  method: string;
  path: string;
  body?: unknown;
  patchType?: PatchType;
}

interface Parsed {
  /** `core/v1/pods` or `coordination.k8s.io/v1/leases` */
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

function parse(path: string): Parsed {
  const parts = path.split('?')[0]!.split('/').filter(Boolean).map(decodeURIComponent);
  let i: number;
  let gv: string;
  if (parts[0] === 'api') {
    gv = 'core/v1';
    i = 2;
  } else if (parts[0] === 'apis') {
    gv = `${parts[1]}/${parts[2]}`;
    i = 3;
  } else throw new Error(`fake: bad path ${path}`);
  let namespace: string | undefined;
  if (parts[i] === 'namespaces' && parts.length > i + 2) {
    namespace = parts[i + 1];
    i += 2;
  }
  return { resource: `${gv}/${parts[i]}`, namespace, name: parts[i + 1], subresource: parts[i + 2] };
}

function keyOf(p: Parsed): string {
  return `${p.resource}/${p.namespace ?? ''}/${p.name ?? ''}`;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

type Listener = (type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject, key: string) => void;

export class FakeKube implements AgentClient {
  readonly objects = new Map<string, KubeObject>();
  readonly calls: Call[] = [];
  private rv = 1;
  private uidSeq = 0;
  private readonly listeners = new Set<Listener>();
  /** Throw this error from matching calls (return undefined to let the call through). */
  fault: ((call: Call) => Error | undefined) | undefined;
  /** Answers TokenRequests; the default issues `token-<n>` valid for the requested seconds. */
  tokenHandler: (ns: string, sa: string, tr: TokenRequest) => TokenRequest;
  /** Clock for issued tokens and timestamps. */
  now: () => number = () => Date.now();
  private tokenSeq = 0;

  constructor() {
    this.tokenHandler = (ns, sa, tr) => {
      const seconds = tr.spec.expirationSeconds ?? 3600;
      return {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        metadata: { name: sa, namespace: ns },
        spec: { ...tr.spec, expirationSeconds: seconds },
        status: {
          token: `token-${++this.tokenSeq}-${sa}-${tr.spec.boundObjectRef?.name ?? ''}`,
          expirationTimestamp: new Date(this.now() + seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        },
      };
    };
  }

  /** Stores an object directly (test setup), filling in metadata. Returns the stored copy. */
  put<T extends object>(path: string, input: T): T {
    const obj = input as KubeObject;
    const p = parse(path);
    const meta = { ...(obj.metadata ?? {}) };
    const name = meta.name ?? p.name;
    const key = keyOf({ ...p, name });
    const existing = this.objects.get(key);
    const stored = clone({
      ...obj,
      metadata: {
        ...meta,
        name,
        ...(p.namespace ? { namespace: p.namespace } : {}),
        uid: meta.uid ?? existing?.metadata?.uid ?? `uid-${++this.uidSeq}`,
        resourceVersion: String(++this.rv),
        creationTimestamp: existing?.metadata?.creationTimestamp ?? new Date(this.now()).toISOString(),
      },
    }) as KubeObject;
    this.objects.set(key, stored);
    this.emit(existing ? 'MODIFIED' : 'ADDED', stored, key);
    return clone(stored) as T;
  }

  /** Removes an object outright (like a force delete). */
  remove(path: string): void {
    const key = keyOf(parse(path));
    const obj = this.objects.get(key);
    if (!obj) return;
    this.objects.delete(key);
    this.emit('DELETED', obj, key);
  }

  /** Starts a graceful deletion: sets deletionTimestamp (the agent must confirm). */
  requestDeletion(path: string): void {
    const key = keyOf(parse(path));
    const obj = this.objects.get(key);
    if (!obj) throw new Error(`fake: no ${path}`);
    obj.metadata = {
      ...obj.metadata,
      deletionTimestamp: new Date(this.now()).toISOString(),
      deletionGracePeriodSeconds: 30,
      resourceVersion: String(++this.rv),
    };
    this.emit('MODIFIED', obj, key);
  }

  read<T = KubeObject>(path: string): T | undefined {
    const obj = this.objects.get(keyOf(parse(path)));
    return obj ? (clone(obj) as T) : undefined;
  }

  private record(call: Call): void {
    this.calls.push(call);
    const err = this.fault?.(call);
    if (err) throw err;
  }

  private notFound(p: Parsed): FakeApiError {
    const res = p.resource.split('/').pop();
    return new FakeApiError(404, 'NotFound', `${res} "${p.name}" not found`);
  }

  async get<T extends KubeObject = KubeObject>(path: string, _options?: RequestOptions): Promise<T> {
    await Promise.resolve();
    this.record({ method: 'GET', path });
    const p = parse(path);
    const obj = this.objects.get(keyOf(p));
    if (!obj) throw this.notFound(p);
    return clone(obj) as T;
  }

  async create<T extends KubeObject = KubeObject>(path: string, body: unknown, _options?: RequestOptions): Promise<T> {
    await Promise.resolve();
    this.record({ method: 'POST', path, body: clone(body) });
    const p = parse(path);
    if (p.subresource === 'token' && p.resource === 'core/v1/serviceaccounts') {
      if (!this.objects.has(keyOf({ ...p, subresource: undefined }))) throw this.notFound(p);
      return this.tokenHandler(p.namespace!, p.name!, clone(body) as TokenRequest) as unknown as T;
    }
    const obj = body as KubeObject;
    const name = obj.metadata?.name;
    const key = keyOf({ ...p, name });
    if (this.objects.has(key)) {
      throw new FakeApiError(409, 'AlreadyExists', `${p.resource.split('/').pop()} "${name}" already exists`);
    }
    return this.put(`${path}/${encodeURIComponent(name ?? '')}`, obj) as T;
  }

  async update<T extends KubeObject = KubeObject>(path: string, body: unknown, _options?: RequestOptions): Promise<T> {
    await Promise.resolve();
    this.record({ method: 'PUT', path, body: clone(body) });
    const p = parse(path);
    const key = keyOf(p);
    const existing = this.objects.get(key);
    if (!existing) throw this.notFound(p);
    const obj = body as KubeObject;
    if (obj.metadata?.resourceVersion && obj.metadata.resourceVersion !== existing.metadata?.resourceVersion) {
      throw new FakeApiError(409, 'Conflict', 'the object has been modified; please apply your changes to the latest version and try again');
    }
    return this.put(path, { ...obj, metadata: { ...obj.metadata, uid: existing.metadata?.uid } }) as T;
  }

  async patch<T extends KubeObject = KubeObject>(path: string, patch: unknown, type: PatchType, _options?: RequestOptions): Promise<T> {
    await Promise.resolve();
    this.record({ method: 'PATCH', path, body: clone(patch), patchType: type });
    if (type !== 'merge') throw new FakeApiError(415, 'UnsupportedMediaType', `fake: patch type ${type}`);
    const p = parse(path);
    const key = keyOf({ ...p, subresource: undefined });
    const existing = this.objects.get(key);
    if (!existing) throw this.notFound(p);
    const patchObj = patch as KubeObject;
    if (patchObj.metadata?.uid && patchObj.metadata.uid !== existing.metadata?.uid) {
      throw new FakeApiError(409, 'Conflict', 'Precondition failed: UID in precondition does not match the UID of the object');
    }
    // the status subresource only takes status; the main resource ignores it
    const effective = p.subresource === 'status' ? { status: patchObj.status } : { ...patchObj, status: undefined };
    const merged = mergePatch(existing, effective) as KubeObject;
    if (p.subresource !== 'status') merged.status = existing.status;
    return this.put(path.replace(/\/status$/, ''), merged) as T;
  }

  async delete<T = unknown>(path: string, body?: unknown, _options?: RequestOptions): Promise<T> {
    await Promise.resolve();
    this.record({ method: 'DELETE', path, body: clone(body) });
    const p = parse(path);
    const key = keyOf(p);
    const existing = this.objects.get(key);
    if (!existing) throw this.notFound(p);
    const opts = (body ?? {}) as { preconditions?: { uid?: string }; gracePeriodSeconds?: number };
    if (opts.preconditions?.uid && opts.preconditions.uid !== existing.metadata?.uid) {
      throw new FakeApiError(
        409,
        'Conflict',
        `Precondition failed: UID in precondition: ${opts.preconditions.uid}, UID in object meta: ${existing.metadata?.uid}`,
      );
    }
    this.objects.delete(key);
    this.emit('DELETED', existing, key);
    return clone(existing) as T;
  }

  /** The InformerFactory over this fake. */
  readonly createInformer = (options: { path: string; query?: Record<string, string> }): Informer =>
    new FakeInformer(this, options.path, options.query?.fieldSelector);

  /** @internal */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reports a watch failure to every informer's error handlers (as a dropped connection would). */
  failWatches(err: Error): void {
    for (const l of [...this.watchErrorListeners]) l(err);
  }

  /** @internal */
  readonly watchErrorListeners = new Set<(err: Error) => void>();

  /** Number of informers currently watching. */
  get watchers(): number {
    return this.listeners.size;
  }

  private emit(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject, key: string): void {
    const copy = clone(obj);
    for (const l of [...this.listeners]) l(type, copy, key);
  }

  /** @internal: objects of a collection. */
  listRaw(collection: Parsed): [string, KubeObject][] {
    const prefix = `${collection.resource}/`;
    return [...this.objects.entries()].filter(
      ([k, o]) => k.startsWith(prefix) && (collection.namespace === undefined || o.metadata?.namespace === collection.namespace),
    );
  }
}

function matchesField(obj: KubeObject, selector: string | undefined): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [field, value] = term.split('=');
    const v = field!.split('.').reduce<unknown>((o, k) => (isObject(o) ? o[k] : undefined), obj);
    return (v ?? '') === value;
  });
}

class FakeInformer implements Informer {
  private readonly store = new Map<string, KubeObject>();
  private readonly handlers = new Set<InformerHandler<KubeObject>>();
  private unsubscribe: (() => void) | undefined;
  private readonly collection: Parsed;

  constructor(
    private readonly fake: FakeKube,
    path: string,
    private readonly selector: string | undefined,
  ) {
    this.collection = parse(`${path}/x`);
    this.collection.name = undefined;
  }

  async start(): Promise<void> {
    await new Promise((r) => setImmediate(r));
    for (const [, obj] of this.fake.listRaw(this.collection)) {
      if (matchesField(obj, this.selector)) this.store.set(this.keyFor(obj), structuredClone(obj));
    }
    this.unsubscribe = this.fake.subscribe((type, obj, storeKey) => {
      const p = this.collection;
      if (!storeKey.startsWith(`${p.resource}/`)) return;
      if (p.namespace !== undefined && obj.metadata?.namespace !== p.namespace) return;
      const key = this.keyFor(obj);
      const matches = type !== 'DELETED' && matchesField(obj, this.selector);
      // deliver asynchronously, as a watch stream would
      setImmediate(() => {
        if (!this.unsubscribe) return;
        const old = this.store.get(key);
        if (matches) {
          this.store.set(key, obj);
          for (const h of this.handlers) {
            if (old) h.update?.(obj, old);
            else h.add?.(obj);
          }
        } else if (old) {
          this.store.delete(key);
          for (const h of this.handlers) h.delete?.(old);
        }
      });
    });
    for (const obj of this.store.values()) for (const h of this.handlers) h.add?.(obj);
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  get(key: string): KubeObject | undefined {
    return this.store.get(key);
  }

  list(): KubeObject[] {
    return [...this.store.values()];
  }

  on(handler: InformerHandler<KubeObject>): () => void {
    this.handlers.add(handler);
    const onError = (err: Error) => handler.error?.(err);
    this.fake.watchErrorListeners.add(onError);
    return () => {
      this.handlers.delete(handler);
      this.fake.watchErrorListeners.delete(onError);
    };
  }

  private keyFor(obj: KubeObject): string {
    return obj.metadata?.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : `${obj.metadata?.name}`;
  }
}
