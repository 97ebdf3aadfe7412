/**
 * The generic registry: create, read, update, patch, delete and watch of any served resource,
 * with Kubernetes' semantics (optimistic concurrency, generateName, uid/creationTimestamp/generation,
 * status subresources, graceful deletion and finalizers, dry-run, managedFields), on top of the
 * store and the informer caches.
 *
 * Reads come from the informer caches; writes go to the store with compare-and-swap and then
 * wait until the cache has seen them, so a client reads its own writes.
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import {
  alreadyExists,
  badRequest,
  conflict,
  expired,
  field,
  invalid,
  isStatusError,
  notFound,
  OPTIMISTIC_LOCK_MESSAGE,
  serviceUnavailable,
  StatusError,
  timeout,
  type KubeObject,
  type ObjectMeta,
} from '@boundtoken/api';
import { isStoreError, type Store, type StoreError } from '@boundtoken/store';
import type { AdmissionChain, Operation } from '../admission/types.js';
import type { SelectorRequirement } from '../auth/types.js';
import { createReadBarrier, type Freshness, type ReadBarrier } from '../cache/consistent-read.js';
import { createInformer, type CacheEvent, type Informer } from '../cache/informer.js';
import { createCacheGroup, type CacheGroup } from '../cache/shared-watch.js';
import type { IndexFunc } from '../cache/types.js';
import { trackManagedFields } from './managed-fields.js';
import { wipeObjectMetaSystemFields } from './metadata.js';
import { matchFields, matchLabels } from './selectors.js';
import type { OperationContext, ResourceDef } from './types.js';

export interface ListOptions {
  labelSelector?: SelectorRequirement[];
  fieldSelector?: SelectorRequirement[];
  limit?: number;
  continueToken?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
  /** Read from the store rather than the cache (a consistent read the cache cannot serve in time). */
  fromStore?: boolean;
}

export interface ListResult<T extends KubeObject = KubeObject> {
  items: T[];
  resourceVersion: string;
  continueToken?: string;
  remainingItemCount?: number;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: string;
}

export interface DeleteResult<T extends KubeObject = KubeObject> {
  object: T;
  /** True when the object is gone; false when it was marked for (graceful or finalizer) deletion. */
  deleted: boolean;
}

export interface WatchOptions {
  labelSelector?: SelectorRequirement[];
  fieldSelector?: SelectorRequirement[];
  resourceVersion?: string;
  /** sendInitialEvents=true: synthetic ADDED events, then a bookmark marking their end. */
  sendInitialEvents?: boolean;
}

export type WatchSink<T extends KubeObject = KubeObject> = (type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T) => void;

/** Retries of a patch or controller update that lost a compare-and-swap race. */
const CONFLICT_RETRIES = 5;
/** How long a read-modify-write keeps retrying lost races before answering 409. */
const UPDATE_RETRY_BUDGET_MS = 10_000;
const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

export function randomSuffix(n = 5): string {
  let s = '';
  for (let i = 0; i < n; i++) s += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)];
  return s;
}

export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function gr(def: ResourceDef): { group: string; resource: string } {
  return { group: def.group, resource: def.resource };
}

function gk(def: ResourceDef): { group: string; kind: string } {
  return { group: def.group, kind: def.kind };
}

function clone<T>(obj: T): T {
  return structuredClone(obj);
}

/** Maps store failures to the Status answers Kubernetes gives for them. */
export function storeFailure(err: unknown, def: ResourceDef, name: string): unknown {
  if (!isStoreError(err)) return err;
  switch (err.code) {
    case 'ERR_STORE_NOT_FOUND':
      return notFound(gr(def), name);
    case 'ERR_STORE_EXISTS':
      return alreadyExists(gr(def), name);
    case 'ERR_STORE_CONFLICT':
      return conflict(gr(def), name, OPTIMISTIC_LOCK_MESSAGE);
    case 'ERR_STORE_COMPACTED':
      return expired(`too old resource version: ${err.revision ?? ''}`);
    case 'ERR_STORE_TIMEOUT':
      return timeout(`the storage did not answer in time: ${err.message}`, 2);
    case 'ERR_STORE_UNAVAILABLE':
    case 'ERR_STORE_CLOSED':
      return serviceUnavailable(`the storage is unavailable: ${err.message}`, 2);
    default:
      return err;
  }
}

function selectableFields(def: ResourceDef, obj: KubeObject): Record<string, string> {
  const base: Record<string, string> = { 'metadata.name': obj.metadata?.name ?? '' };
  if (def.namespaced) base['metadata.namespace'] = obj.metadata?.namespace ?? '';
  return def.selectableFields ? { ...base, ...def.selectableFields(obj) } : base;
}

export function matches(def: ResourceDef, obj: KubeObject, labels?: SelectorRequirement[], fields?: SelectorRequirement[]): boolean {
  if (labels && labels.length > 0 && !matchLabels(labels, obj.metadata?.labels)) return false;
  if (fields && fields.length > 0 && !matchFields(fields, selectableFields(def, obj))) return false;
  return true;
}

function checkFieldSelectorSupported(def: ResourceDef, fields: SelectorRequirement[] | undefined, sample: KubeObject): void {
  if (!fields) return;
  const supported = selectableFields(def, sample);
  for (const r of fields) {
    if (!(r.key in supported)) {
      throw badRequest(`"${r.key}" is not a known field selector: only "${Object.keys(supported).join('", "')}"`);
    }
  }
}

interface ContinueToken {
  v: 'meta.k8s.io/v1';
  rv: number;
  start: string;
}

function encodeContinue(rv: number, lastKey: string): string {
  const token: ContinueToken = { v: 'meta.k8s.io/v1', rv, start: lastKey };
  return Buffer.from(JSON.stringify(token)).toString('base64');
}

/** A continue token with `rv` -1 goes on at the latest state (the one a 410 hands out). */
function decodeContinue(token: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as ContinueToken;
    if (t.v !== 'meta.k8s.io/v1' || !Number.isSafeInteger(t.rv) || t.rv < -1 || typeof t.start !== 'string') throw new Error('bad');
    return t;
  } catch {
    throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
}

export interface RegistryOptions {
  store: Store;
  defs: ResourceDef[];
  admission: AdmissionChain;
  /** Extra index functions per resource (`pods` → `spec.nodeName` …). */
  indexers?: Record<string, Record<string, IndexFunc>>;
  eventWindow?: number;
  /** Called when the store watch feeding the caches fails and they relist or resume (for logs). */
  onRelist?: (resource: string, err: StoreError) => void;
  /**
   * Make `sync()` a consistent-read barrier (the store's current revision, then the caches caught
   * up with it): needed when other processes write to the same store. Default: for etcd.
   */
  consistentReads?: boolean;
}

export class Registry {
  readonly store: Store;
  readonly admission: AdmissionChain;
  private readonly defs = new Map<string, ResourceDef>();
  private readonly byKind = new Map<string, ResourceDef>();
  private readonly informers = new Map<string, Informer>();
  private readonly caches: CacheGroup;
  private readonly barrier: ReadBarrier | undefined;

  constructor(options: RegistryOptions) {
    this.store = options.store;
    this.admission = options.admission;
    this.caches = createCacheGroup({
      store: options.store,
      root: '/registry/',
      onWatchError: (err) => options.onRelist?.('*', err),
    });
    for (const def of options.defs) {
      this.defs.set(`${def.group}/${def.resource}`, def);
      this.byKind.set(`${def.group}/${def.kind}`, def);
      const informer = createInformer({
        prefix: `/registry/${def.resource}/`,
        indexers: options.indexers?.[def.resource] ?? {},
        ...(options.eventWindow !== undefined ? { eventWindow: options.eventWindow } : {}),
      });
      this.informers.set(def.resource, informer);
      this.caches.add(informer.prefix, informer);
    }
    if (options.consistentReads ?? options.store.backend === 'etcd') {
      this.barrier = createReadBarrier({
        currentRevision: () => this.store.currentRevision(),
        waitForCaches: (revision, timeoutMs) => this.caches.waitFor(revision, timeoutMs),
      });
    }
  }

  async start(): Promise<void> {
    await this.caches.start();
  }

  stop(): void {
    this.caches.stop();
  }

  /**
   * A consistent-read barrier for a request that arrived now: with a store other processes write
   * to (etcd), waits until the caches hold every write acknowledged before this call, and says
   * whether they do (cache/consistent-read.ts). Without one, the caches are always `fresh`: this
   * process made every write and waited for its cache.
   */
  sync(): Promise<Freshness> {
    return this.barrier ? this.barrier.sync() : Promise.resolve('fresh');
  }

  /** True when other processes write to the store too (etcd): `sync()` then waits for it. */
  get sharedStore(): boolean {
    return this.barrier !== undefined;
  }

  /** Like sync, for hot paths: `fresh` means every write acknowledged more than `maxStalenessMs` before this call. */
  syncRecent(maxStalenessMs: number): Promise<Freshness> {
    return this.barrier ? this.barrier.recent(maxStalenessMs) : Promise.resolve('fresh');
  }

  /** The served resources. */
  all(): ResourceDef[] {
    return [...this.defs.values()];
  }

  def(group: string, resource: string): ResourceDef | undefined {
    return this.defs.get(`${group}/${resource}`);
  }

  defByKind(group: string, kind: string): ResourceDef | undefined {
    return this.byKind.get(`${group}/${kind}`);
  }

  /** The informer cache of a resource (shared objects: never mutate them). */
  cache<T extends KubeObject = KubeObject>(resource: string): Informer<T> {
    const i = this.informers.get(resource);
    if (!i) throw new TypeError(`no such resource: ${resource}`);
    return i as unknown as Informer<T>;
  }

  key(def: ResourceDef, namespace: string, name: string): string {
    return def.namespaced ? `/registry/${def.resource}/${namespace}/${name}` : `/registry/${def.resource}/${name}`;
  }

  /** Waits until the resource's cache holds every write up to `revision`. */
  private async settle(def: ResourceDef, revision: number): Promise<void> {
    try {
      await this.cache(def.resource).waitFor(revision, 10_000);
    } catch {
      // the cache is lagging (e.g. a remote store under load); the write itself succeeded
    }
  }

  get<T extends KubeObject = KubeObject>(def: ResourceDef, namespace: string, name: string): T | undefined {
    return this.cache<T>(def.resource).get(def.namespaced ? namespace : '', name);
  }

  /** Like get, but a missing object is a 404 `Status`. */
  getOrThrow<T extends KubeObject = KubeObject>(def: ResourceDef, namespace: string, name: string): T {
    const obj = this.get<T>(def, namespace, name);
    if (!obj) throw notFound(gr(def), name);
    return obj;
  }

  /** Reads through to the store (for the rare consistent read the cache cannot prove). */
  async getFresh<T extends KubeObject = KubeObject>(def: ResourceDef, namespace: string, name: string): Promise<T | undefined> {
    try {
      const v = await this.store.get<T>(this.key(def, namespace, name));
      return v?.value;
    } catch (err) {
      throw storeFailure(err, def, name);
    }
  }

  async list<T extends KubeObject = KubeObject>(def: ResourceDef, namespace: string, opts: ListOptions = {}): Promise<ListResult<T>> {
    const cache = this.cache<T>(def.resource);
    const ns = def.namespaced ? namespace : '';
    const sample = { metadata: { name: '', namespace: '' } } as T;
    checkFieldSelectorSupported(def, opts.fieldSelector, sample);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;

    if (!limit && !opts.continueToken && !opts.fromStore) {
      const items = (ns ? cache.list(ns) : cache.list()).filter((o) => matches(def, o, opts.labelSelector, opts.fieldSelector));
      items.sort((a, b) => keyOrder(a, b));
      return { items, resourceVersion: String(cache.revision) };
    }

    // paged (or a read-through): consistent snapshot reads from the store
    const prefix = ns ? `/registry/${def.resource}/${ns}/` : `/registry/${def.resource}/`;
    let revision: number | undefined;
    let startAfter: string | undefined;
    if (opts.continueToken) {
      const t = decodeContinue(opts.continueToken);
      if (t.rv !== -1) revision = t.rv;
      startAfter = t.start;
    }
    const items: T[] = [];
    let lastKey = startAfter ?? '';
    let more = false;
    let remaining: number | undefined;
    try {
      for (;;) {
        const want = limit ? limit - items.length : 500;
        const page = await this.store.list<T>(prefix, {
          limit: Math.max(want, 50),
          ...(startAfter !== undefined ? { startAfter } : {}),
          ...(revision !== undefined ? { revision } : {}),
        });
        revision = page.revision;
        let i = 0;
        for (; i < page.items.length && (!limit || items.length < limit); i++) {
          const item = page.items[i]!;
          lastKey = item.key;
          if (matches(def, item.value, opts.labelSelector, opts.fieldSelector)) items.push(item.value);
        }
        if (limit && items.length >= limit) {
          more = i < page.items.length || page.more;
          if (more && !opts.labelSelector?.length && !opts.fieldSelector?.length && (!page.more || page.remaining !== undefined)) {
            remaining = (page.more ? page.remaining! : 0) + (page.items.length - i);
          }
          break;
        }
        if (!page.more || page.items.length === 0) break;
        startAfter = page.items[page.items.length - 1]!.key;
      }
    } catch (err) {
      if (isStoreError(err, 'ERR_STORE_COMPACTED')) {
        const expiredErr = new StatusError(
          410,
          'Expired',
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        );
        // the token the message speaks of: the same position, at the latest state
        expiredErr.status.metadata = { continue: encodeContinue(-1, startAfter ?? '') };
        throw expiredErr;
      }
      throw storeFailure(err, def, '');
    }
    return {
      items,
      resourceVersion: String(revision ?? 0),
      ...(more ? { continueToken: encodeContinue(revision ?? 0, lastKey) } : {}),
      ...(remaining !== undefined ? { remainingItemCount: remaining } : {}),
    };
  }

  /**
   * Follows changes: replays from `resourceVersion` (or synthesises ADDED events for the current
   * state when none is given), then streams. Returns a stop function; throws 410 when the
   * resourceVersion is older than the cache's event window.
   */
  watch<T extends KubeObject = KubeObject>(
    def: ResourceDef,
    namespace: string,
    opts: WatchOptions,
    sink: WatchSink<T>,
  ): { stop: () => void; initialEventsEnd?: string } {
    const cache = this.cache<T>(def.resource);
    const ns = def.namespaced ? namespace : '';
    checkFieldSelectorSupported(def, opts.fieldSelector, { metadata: { name: '' } } as T);
    const inScope = (o: KubeObject): boolean => !ns || o.metadata?.namespace === ns;
    const selected = (o: KubeObject): boolean => inScope(o) && matches(def, o, opts.labelSelector, opts.fieldSelector);

    const deliver = (ev: CacheEvent<T>): void => {
      const now = selected(ev.object);
      if (ev.type === 'ADDED') {
        if (now) sink('ADDED', ev.object);
        return;
      }
      if (ev.type === 'DELETED') {
        if (now || (ev.old && selected(ev.old))) sink('DELETED', ev.object);
        return;
      }
      const before = ev.old ? selected(ev.old) : false;
      if (now && before) sink('MODIFIED', ev.object);
      else if (now) sink('ADDED', ev.object);
      else if (before) sink('DELETED', ev.object);
    };

    const rv = opts.resourceVersion;
    let replay: CacheEvent<T>[] | undefined;
    let initial: T[] | undefined;
    /** Changes at or before this revision are already known to the client. */
    let known = 0;
    if (opts.sendInitialEvents || rv === undefined || rv === '' || rv === '0') {
      initial = (ns ? cache.list(ns) : cache.list()).filter(selected).sort(keyOrder);
    } else {
      const from = Number(rv);
      if (!Number.isSafeInteger(from) || from < 0) {
        throw badRequest(`invalid resource version: ${rv}`);
      }
      replay = cache.eventsSince(from);
      if (!replay) throw expired(`too old resource version: ${from} (${cache.revision})`);
      // a resourceVersion from another replica (or a read through to the store) may be ahead of
      // this cache: the changes up to it that the cache has yet to apply are not news
      known = from;
    }
    // subscribe and snapshot in the same synchronous step: nothing can slip between them
    const stop = cache.listen((ev) => {
      if (ev.revision > known) deliver(ev);
    });
    if (initial) for (const o of initial) sink('ADDED', o);
    if (replay) for (const ev of replay) deliver(ev);
    return { stop, ...(opts.sendInitialEvents ? { initialEventsEnd: String(cache.revision) } : {}) };
  }

  /** Fills in what the server owns on create. */
  private prepareCreate(def: ResourceDef, obj: KubeObject, ctx: OperationContext): void {
    const meta = (obj.metadata ??= {}) as ObjectMeta;
    wipeObjectMetaSystemFields(meta);
    meta.uid = randomUUID();
    meta.creationTimestamp = rfc3339(ctx.now);
    delete meta.resourceVersion;
    if (def.generation) meta.generation = 1;
    else delete meta.generation;
    obj.apiVersion = def.group ? `${def.group}/${def.version}` : def.version;
    obj.kind = def.kind;
    if (def.hasStatus && ctx.subresource === '') {
      // status is the controllers' to write, except for the few kinds whose create may carry it
      if (!['nodes', 'events'].includes(def.resource)) delete obj.status;
    }
  }

  private validateOrThrow(def: ResourceDef, obj: KubeObject, old: KubeObject | undefined, ctx: OperationContext): void {
    const errs = old ? (def.validateUpdate?.(obj, old, ctx) ?? []) : (def.validate?.(obj, ctx) ?? []);
    if (errs.length > 0) throw invalid(gk(def), obj.metadata?.name ?? '', errs);
  }

  private async admit(
    operation: Operation,
    def: ResourceDef,
    ctx: OperationContext,
    namespace: string,
    name: string,
    object: KubeObject | undefined,
    oldObject: KubeObject | undefined,
  ): Promise<void> {
    await this.admission.run({
      operation,
      def,
      subresource: ctx.subresource,
      namespace,
      name,
      user: ctx.user,
      ...(object ? { object } : {}),
      ...(oldObject ? { oldObject } : {}),
      dryRun: ctx.dryRun,
    });
  }

  /** Creates an object; `obj` is owned by the registry afterwards. */
  async create<T extends KubeObject = KubeObject>(def: ResourceDef, ctx: OperationContext, namespace: string, obj: T): Promise<T> {
    const meta = (obj.metadata ??= {}) as ObjectMeta;
    if (def.namespaced) {
      if (meta.namespace && meta.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = namespace;
    } else if (meta.namespace) {
      // cluster-scoped objects carry no namespace
      delete meta.namespace;
    }
    const generated = !meta.name && !!meta.generateName;
    for (let attempt = 0; ; attempt++) {
      if (generated) meta.name = `${meta.generateName}${randomSuffix()}`;
      this.prepareCreate(def, obj, ctx);
      def.prepareForCreate?.(obj, ctx);
      def.defaults?.(obj);
      await this.admit('CREATE', def, ctx, namespace, meta.name ?? '', obj, undefined);
      def.defaults?.(obj);
      this.validateOrThrow(def, obj, undefined, ctx);
      const name = meta.name!;
      trackManagedFields(def, undefined, obj, ctx);
      if (ctx.dryRun) {
        if (this.get(def, namespace, name)) throw alreadyExists(gr(def), name);
        return obj;
      }
      try {
        const v = await this.store.create(this.key(def, namespace, name), obj);
        await this.settle(def, v.revision);
        return v.value;
      } catch (err) {
        if (generated && isStoreError(err, 'ERR_STORE_EXISTS') && attempt < 3) continue;
        throw storeFailure(err, def, name);
      }
    }
  }

  /**
   * Replaces an object (PUT), or the status of one (`ctx.subresource === 'status'`). Returns the
   * stored object and whether it was created (create-on-update resources).
   */
  async update<T extends KubeObject = KubeObject>(
    def: ResourceDef,
    ctx: OperationContext,
    namespace: string,
    name: string,
    obj: T,
  ): Promise<{ object: T; created: boolean }> {
    const meta = (obj.metadata ??= {}) as ObjectMeta;
    if (meta.name && meta.name !== name) {
      throw badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);
    }
    meta.name = name;
    if (def.namespaced) {
      if (meta.namespace && meta.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = namespace;
    }
    const current = this.get<T>(def, namespace, name) ?? (await this.getFresh<T>(def, namespace, name));
    if (!current) {
      if (!def.allowCreateOnUpdate || ctx.subresource) throw notFound(gr(def), name);
      return { object: await this.create(def, ctx, namespace, obj), created: true };
    }
    const wantRv = meta.resourceVersion;
    if (!wantRv) {
      if (!def.allowUnconditionalUpdate) {
        throw invalid(gk(def), name, [field.invalid('metadata.resourceVersion', '0x0', 'must be specified for an update')]);
      }
    } else if (wantRv !== current.metadata?.resourceVersion) {
      throw conflict(gr(def), name, OPTIMISTIC_LOCK_MESSAGE);
    }
    const object = await this.writeUpdate(def, ctx, current, obj);
    return { object, created: false };
  }

  /**
   * The shared tail of update and patch: carries over what the server owns, runs strategy,
   * admission and validation, and writes with compare-and-swap against `current`.
   */
  private async writeUpdate<T extends KubeObject>(def: ResourceDef, ctx: OperationContext, current: T, incoming: T): Promise<T> {
    const obj = incoming;
    const meta = (obj.metadata ??= {}) as ObjectMeta;
    const old = current.metadata!;
    obj.apiVersion = def.group ? `${def.group}/${def.version}` : def.version;
    obj.kind = def.kind;
    meta.uid = old.uid!;
    meta.creationTimestamp = old.creationTimestamp!;
    meta.name = old.name!;
    if (def.namespaced) meta.namespace = old.namespace!;
    if (old.deletionTimestamp) {
      meta.deletionTimestamp = old.deletionTimestamp;
      if (old.deletionGracePeriodSeconds !== undefined) meta.deletionGracePeriodSeconds = old.deletionGracePeriodSeconds;
    } else {
      delete meta.deletionTimestamp;
      delete meta.deletionGracePeriodSeconds;
    }
    if (ctx.subresource === 'status') {
      // a status write changes only the status
      const status = obj.status;
      const kept = clone(current) as KubeObject;
      kept.status = status;
      if (status === undefined) delete kept.status;
      Object.assign(obj, kept);
      for (const k of Object.keys(obj)) if (!(k in kept)) delete (obj as Record<string, unknown>)[k];
    } else if (def.hasStatus && ctx.subresource === '') {
      const currentStatus = (current as KubeObject).status;
      if (currentStatus === undefined) delete obj.status;
      else (obj as KubeObject).status = clone(currentStatus);
    }
    if (def.generation) {
      const specChanged = !isDeepStrictEqual(obj.spec, current.spec) ||
        // rbac objects have no spec: their rules/subjects count as spec
        (!('spec' in current) && !isDeepStrictEqual(stripMetaStatus(obj), stripMetaStatus(current)));
      meta.generation = (old.generation ?? 1) + (specChanged && ctx.subresource !== 'status' ? 1 : 0);
    }
    def.prepareForUpdate?.(obj, current, ctx);
    def.defaults?.(obj);
    await this.admit('UPDATE', def, ctx, old.namespace ?? '', old.name!, obj, current);
    def.defaults?.(obj);
    this.validateOrThrow(def, obj, current, ctx);
    trackManagedFields(def, current, obj, ctx);

    // finalizers all removed from an object being deleted: it goes now
    if (old.deletionTimestamp && pendingFinalizers(def, obj) === 0 && !this.waitsForGrace(def, obj)) {
      if (ctx.dryRun) return obj;
      try {
        const v = await this.store.delete<T>(this.key(def, old.namespace ?? '', old.name!), Number(old.resourceVersion));
        await this.settle(def, v.revision);
        return v.value;
      } catch (err) {
        throw storeFailure(err, def, old.name!);
      }
    }

    const comparable = (o: KubeObject): KubeObject => {
      const c = { ...o, metadata: { ...o.metadata } } as KubeObject;
      delete c.metadata!.resourceVersion;
      delete c.metadata!.managedFields;
      return c;
    };
    if (isDeepStrictEqual(comparable(obj), comparable(current))) return current; // no-op: no write, same resourceVersion
    if (ctx.dryRun) {
      meta.resourceVersion = old.resourceVersion!;
      return obj;
    }
    try {
      const v = await this.store.update(this.key(def, old.namespace ?? '', old.name!), obj, Number(old.resourceVersion));
      await this.settle(def, v.revision);
      return v.value;
    } catch (err) {
      throw storeFailure(err, def, old.name!);
    }
  }

  /** A pod with a deletion grace period still running waits for its node. */
  private waitsForGrace(def: ResourceDef, obj: KubeObject): boolean {
    return def.resource === 'pods' && (obj.metadata?.deletionGracePeriodSeconds ?? 0) > 0;
  }

  /**
   * Read-modify-write with retries on conflict: `mutate` gets a private copy of the current
   * object and returns the desired one (or the same object), or undefined to skip the write.
   * Used by patch and by controllers.
   */
  async guaranteedUpdate<T extends KubeObject = KubeObject>(
    def: ResourceDef,
    ctx: OperationContext,
    namespace: string,
    name: string,
    mutate: (current: T) => T | undefined | Promise<T | undefined>,
    options: { createIfMissing?: () => Promise<T> } = {},
  ): Promise<{ object: T; created: boolean }> {
    const deadline = Date.now() + UPDATE_RETRY_BUDGET_MS;
    for (let attempt = 0; ; attempt++) {
      // the first attempt trusts the cache; after a lost race, read the store's latest version
      const current = (attempt === 0 ? this.get<T>(def, namespace, name) : undefined) ?? (await this.getFresh<T>(def, namespace, name));
      if (!current) {
        if (options.createIfMissing) return { object: await options.createIfMissing(), created: true };
        throw notFound(gr(def), name);
      }
      const desired = await mutate(clone(current));
      if (desired === undefined) return { object: current, created: false };
      const pinned = desired.metadata?.resourceVersion;
      if (pinned && pinned !== current.metadata?.resourceVersion) {
        throw conflict(gr(def), name, OPTIMISTIC_LOCK_MESSAGE);
      }
      try {
        return { object: await this.writeUpdate(def, ctx, current, desired), created: false };
      } catch (err) {
        // `pinned` is usually just current's resourceVersion carried through `mutate`: a lost race
        // is retried, and a resourceVersion the caller really pinned fails the check above next time
        const lost = isStatusError(err) && err.code === 409 && err.reason === 'Conflict';
        // like Kubernetes' GuaranteedUpdate, keep retrying a lost race (within a time budget),
        // backing off with jitter once several writers keep colliding
        if (!lost || Date.now() > deadline) throw err;
        if (attempt >= 2) await new Promise((r) => setTimeout(r, Math.random() * 2 ** Math.min(attempt, 7)));
      }
    }
  }

  private async refresh(def: ResourceDef, namespace: string, name: string): Promise<void> {
    try {
      const v = await this.store.get(this.key(def, namespace, name));
      if (v) await this.settle(def, v.revision);
    } catch {
      // the next attempt reports the failure
    }
  }

  /**
   * Deletes an object, gracefully where the resource says so (pods on a node), or by marking it
   * when finalizers remain. Preconditions and dry-run as Kubernetes.
   */
  async delete<T extends KubeObject = KubeObject>(
    def: ResourceDef,
    ctx: OperationContext,
    namespace: string,
    name: string,
    options: DeleteOptions = {},
  ): Promise<DeleteResult<T>> {
    for (let attempt = 0; ; attempt++) {
      const current = this.get<T>(def, namespace, name) ?? (await this.getFresh<T>(def, namespace, name));
      if (!current) throw notFound(gr(def), name);
      const meta = current.metadata!;
      const pre = options.preconditions;
      if (pre?.uid && pre.uid !== meta.uid) {
        throw conflict(gr(def), name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${meta.uid}`);
      }
      if (pre?.resourceVersion && pre.resourceVersion !== meta.resourceVersion) {
        throw conflict(
          gr(def),
          name,
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in meta: ${meta.resourceVersion}`,
        );
      }
      await this.admit('DELETE', def, ctx, meta.namespace ?? '', name, undefined, current);

      const grace = def.gracePeriod ? def.gracePeriod(current, options.gracePeriodSeconds) : 0;
      const graceful = grace > 0;
      if (!graceful && pendingFinalizers(def, current) === 0) {
        if (ctx.dryRun) return { object: current, deleted: true };
        try {
          const v = await this.store.delete<T>(this.key(def, namespace, name), Number(meta.resourceVersion));
          await this.settle(def, v.revision);
          return { object: v.value, deleted: true };
        } catch (err) {
          if (isStoreError(err, 'ERR_STORE_CONFLICT') && attempt < CONFLICT_RETRIES) {
            await this.refresh(def, namespace, name);
            continue;
          }
          throw storeFailure(err, def, name);
        }
      }
      // mark for deletion: deletionTimestamp (now + grace), keep until the node / finalizers finish
      const marked = clone(current);
      const mm = marked.metadata!;
      const deadline = new Date(ctx.now.getTime() + grace * 1000);
      if (mm.deletionTimestamp) {
        // only ever shortened
        const existing = Date.parse(mm.deletionTimestamp);
        if (graceful && deadline.getTime() < existing) {
          mm.deletionTimestamp = rfc3339(deadline);
          mm.deletionGracePeriodSeconds = grace;
        } else if (!graceful && (mm.deletionGracePeriodSeconds ?? 0) > 0) {
          mm.deletionTimestamp = rfc3339(ctx.now);
          mm.deletionGracePeriodSeconds = 0;
        } else {
          return { object: current, deleted: false };
        }
      } else {
        mm.deletionTimestamp = rfc3339(deadline);
        mm.deletionGracePeriodSeconds = grace;
      }
      if (def.resource === 'namespaces') {
        (marked as { status?: { phase?: string } }).status = { ...((marked as { status?: object }).status ?? {}), phase: 'Terminating' };
      }
      if (ctx.dryRun) return { object: marked, deleted: false };
      try {
        const v = await this.store.update<T>(this.key(def, namespace, name), marked, Number(meta.resourceVersion));
        await this.settle(def, v.revision);
        return { object: v.value, deleted: false };
      } catch (err) {
        if (isStoreError(err, 'ERR_STORE_CONFLICT') && attempt < CONFLICT_RETRIES) {
          await this.refresh(def, namespace, name);
          continue;
        }
        throw storeFailure(err, def, name);
      }
    }
  }

  /**
   * Removes an object that is already marked for deletion once its grace period is over or its
   * node confirmed (used by the graceful-deletion controller and pod deletion with grace 0).
   */
  async finishDeletion(def: ResourceDef, namespace: string, name: string, uid?: string): Promise<boolean> {
    const current = this.get(def, namespace, name);
    if (!current || (uid && current.metadata?.uid !== uid)) return false;
    if (pendingFinalizers(def, current) > 0) return false;
    try {
      const v = await this.store.delete(this.key(def, namespace, name), Number(current.metadata?.resourceVersion));
      await this.settle(def, v.revision);
      return true;
    } catch (err) {
      if (isStoreError(err, 'ERR_STORE_NOT_FOUND') || isStoreError(err, 'ERR_STORE_CONFLICT')) return false;
      throw storeFailure(err, def, name);
    }
  }
}

function stripMetaStatus(o: KubeObject): Record<string, unknown> {
  const { metadata: _m, status: _s, ...rest } = o;
  return rest;
}

/** Store key order (`<namespace>/<name>` as a string), so cache lists and store lists agree. */
export function keyOrder(a: KubeObject, b: KubeObject): number {
  const ak = `${a.metadata?.namespace ?? ''}/${a.metadata?.name ?? ''}`;
  const bk = `${b.metadata?.namespace ?? ''}/${b.metadata?.name ?? ''}`;
  return ak < bk ? -1 : ak > bk ? 1 : 0;
}

/** Finalizers that keep a deleted object around (a namespace's spec.finalizers count too). */
function pendingFinalizers(def: ResourceDef, obj: KubeObject): number {
  const meta = obj.metadata?.finalizers?.length ?? 0;
  const spec = def.resource === 'namespaces' ? ((obj as { spec?: { finalizers?: string[] } }).spec?.finalizers?.length ?? 0) : 0;
  return meta + spec;
}
