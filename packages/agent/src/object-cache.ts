/**
 * ConfigMaps and Secrets for pod volumes, kept as the kubelet's watch-based managers keep them:
 * each object some pod references gets its own watch (`fieldSelector=metadata.name=NAME` in the
 * pod's namespace, which the Node authorizer allows for objects of the node's pods), started when
 * the first pod references it and stopped when the last one goes. A change is reported through
 * `onChange` so the pods using the object are re-synced at once instead of at their next period.
 * Until an object's watch has delivered its first list, reads go to the API directly.
 */
import type { ConfigMap, KubeObject, Pod, Secret } from '@boundtoken/api';
import { corePath, type AgentClient, type Informer, type InformerFactory } from './client.js';
import { AgentError, errorMessage, fromApiError } from './errors.js';
import { silentLogger, type Logger } from './logger.js';
import type { ObjectGetter } from './volumes/sources.js';

export type ObjectKind = 'configmaps' | 'secrets';

export interface ObjectRef {
  kind: ObjectKind;
  namespace: string;
  name: string;
}

interface Entry {
  ref: ObjectRef;
  users: Set<string>;
  informer?: Informer;
  synced: boolean;
  /** Read from the API before the watch synced: the users re-sync once it has. */
  readDirectly: boolean;
  unsubscribe?: () => void;
}

export interface ObjectCacheOptions {
  client: AgentClient;
  createInformer?: InformerFactory;
  logger?: Logger;
  /** Called when a watched object is added, changed or deleted, with the UIDs of the pods using it. */
  onChange?: (ref: ObjectRef, podUIDs: string[]) => void;
}

export class WatchingObjectCache implements ObjectGetter {
  private readonly client: AgentClient;
  private readonly createInformer: InformerFactory | undefined;
  private readonly logger: Logger;
  private readonly onChange: (ref: ObjectRef, podUIDs: string[]) => void;
  private readonly entries = new Map<string, Entry>();
  private readonly byPod = new Map<string, Set<string>>();

  constructor(options: ObjectCacheOptions) {
    this.client = options.client;
    this.createInformer = options.createInformer;
    this.logger = options.logger ?? silentLogger;
    this.onChange = options.onChange ?? (() => {});
  }

  getConfigMap(namespace: string, name: string): Promise<ConfigMap> {
    return this.get({ kind: 'configmaps', namespace, name }) as Promise<ConfigMap>;
  }

  getSecret(namespace: string, name: string): Promise<Secret> {
    return this.get({ kind: 'secrets', namespace, name }) as Promise<Secret>;
  }

  /** Records which objects the pod uses: starts watches for new ones, releases those it no longer uses. */
  retain(podUID: string, refs: ObjectRef[]): void {
    const wanted = new Map(refs.map((r) => [refKey(r), r]));
    const keys = new Set(wanted.keys());
    const old = this.byPod.get(podUID) ?? new Set<string>();
    for (const [key, ref] of wanted) {
      if (old.has(key)) continue;
      let entry = this.entries.get(key);
      if (!entry) {
        entry = { ref, users: new Set(), synced: false, readDirectly: false };
        this.entries.set(key, entry);
      }
      entry.users.add(podUID);
      this.ensureInformer(entry);
    }
    for (const key of old) if (!keys.has(key)) this.releaseKey(key, podUID);
    if (keys.size === 0) this.byPod.delete(podUID);
    else this.byPod.set(podUID, keys);
  }

  release(podUID: string): void {
    for (const key of this.byPod.get(podUID) ?? []) this.releaseKey(key, podUID);
    this.byPod.delete(podUID);
  }

  /** Number of objects watched (for stats). */
  get watched(): number {
    return this.entries.size;
  }

  stop(): void {
    for (const entry of this.entries.values()) stopEntry(entry);
    this.entries.clear();
    this.byPod.clear();
  }

  private async get(ref: ObjectRef): Promise<KubeObject> {
    const entry = this.entries.get(refKey(ref));
    if (entry?.synced && entry.informer) {
      const obj = entry.informer.get(`${ref.namespace}/${ref.name}`);
      if (!obj) throw notFound(ref);
      return obj;
    }
    if (entry) entry.readDirectly = true;
    try {
      return await this.client.get(corePath(ref.kind, ref.namespace, ref.name));
    } catch (err) {
      throw fromApiError(err);
    }
  }

  private ensureInformer(entry: Entry): void {
    if (entry.informer || !this.createInformer) return;
    const { kind, namespace, name } = entry.ref;
    const informer = this.createInformer({ path: corePath(kind, namespace), query: { fieldSelector: `metadata.name=${name}` } });
    entry.informer = informer;
    const changed = () => {
      if (entry.synced) this.onChange(entry.ref, [...entry.users]);
    };
    entry.unsubscribe = informer.on({ add: changed, update: changed, delete: changed });
    informer.start().then(
      () => {
        if (entry.informer !== informer) return;
        entry.synced = true;
        // a change between the direct read and the watch's first list would otherwise wait for the next period
        if (entry.readDirectly) this.onChange(entry.ref, [...entry.users]);
        entry.readDirectly = false;
      },
      (err: unknown) => {
        // reads keep going to the API; the next retain tries again
        this.logger.warn({ kind, namespace, name, err: errorMessage(err) }, 'watch of a volume source failed to start');
        if (entry.informer === informer) stopEntry(entry);
      },
    );
  }

  private releaseKey(key: string, podUID: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    entry.users.delete(podUID);
    if (entry.users.size === 0) {
      stopEntry(entry);
      this.entries.delete(key);
    }
  }
}

function stopEntry(entry: Entry): void {
  entry.unsubscribe?.();
  entry.informer?.stop();
  entry.informer = undefined;
  entry.unsubscribe = undefined;
  entry.synced = false;
}

function refKey(ref: ObjectRef): string {
  return `${ref.kind}/${ref.namespace}/${ref.name}`;
}

/** The API's message for a missing object: `configmaps "x" not found`. */
function notFound(ref: ObjectRef): AgentError & { reason: 'NotFound'; statusCode: 404 } {
  const err = new AgentError('ERR_NOT_FOUND', `${ref.kind} ${JSON.stringify(ref.name)} not found`) as AgentError & {
    reason: 'NotFound';
    statusCode: 404;
  };
  Object.assign(err, { reason: 'NotFound', statusCode: 404 });
  return err;
}

/** The configMaps and secrets a pod's volumes read. */
export function objectRefsOf(pod: Pod): ObjectRef[] {
  const namespace = pod.metadata?.namespace ?? 'default';
  const refs: ObjectRef[] = [];
  const add = (kind: ObjectKind, name: string | undefined) => {
    if (name && !refs.some((r) => r.kind === kind && r.name === name)) refs.push({ kind, namespace, name });
  };
  for (const v of pod.spec?.volumes ?? []) {
    if (v.configMap) add('configmaps', v.configMap.name);
    if (v.secret) add('secrets', v.secret.secretName);
    for (const s of v.projected?.sources ?? []) {
      if (s.configMap) add('configmaps', s.configMap.name);
      if (s.secret) add('secrets', s.secret.name);
    }
  }
  return refs;
}
