/**
 * The node agent: registers its Node, watches the pods bound to it, and keeps each pod's
 * projected (and configMap, secret, downwardAPI) volumes under
 * `<rootDir>/pods/<podUID>/volumes/kubernetes.io~projected/<volume>/` written and fresh.
 *
 *   pods informer (spec.nodeName=N) ─► PodWorker per pod ─► sources ─► AtomicWriter
 *                                          │                  ├─ TokenManager ─► TokenRequest
 *                                          │                  └─ WatchingObjectCache (configMaps, secrets)
 *                                          └─► pod status, FailedMount events, deletion confirmed
 *   NodeStatusManager: Node Ready + heartbeats (lease, status); NotReady on stop
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Pod } from '@boundtoken/api';
import type { TokenRequest } from '@boundtoken/api';
import { corePath, type AgentClient, type InformerFactory, type Informer } from './client.js';
import { systemClock, type Clock, type Random } from './clock.js';
import { errorMessage } from './errors.js';
import { ApiEventRecorder, type EventRecorder } from './events.js';
import { silentLogger, type Logger } from './logger.js';
import { NodeStatusManager } from './node-status.js';
import { objectRefsOf, WatchingObjectCache } from './object-cache.js';
import { PodWorker, type PodWorkerState } from './pod-worker.js';
import { Semaphore } from './semaphore.js';
import { TokenManager, type TokenRequester } from './token-manager.js';

export interface AgentOptions {
  client: AgentClient;
  /** Informers over `client` (the CLI passes `@boundtoken/client`'s createInformer bound to it). */
  createInformer: InformerFactory;
  nodeName: string;
  /** The kubelet's root directory (`--root-dir`); pods live under `<rootDir>/pods`. */
  rootDir: string;
  /** Re-sync period of each pod (default 60 s, jittered up to +50 %). */
  syncFrequencyMs?: number;
  /** Node status heartbeat (default 10 s). */
  nodeStatusUpdateFrequencyMs?: number;
  /** The node's InternalIP and the pods' hostIP (default 127.0.0.1). */
  nodeIP?: string;
  /** Refreshes of still-valid tokens started per second at most (default 50). */
  tokenRefreshQps?: number;
  /** Pod syncs running at once (default 32). */
  maxConcurrentSyncs?: number;
  /** First retry delay of a failed volume setup (default 500 ms, doubling to `backoffMaxMs`). */
  backoffInitialMs?: number;
  /** Longest retry delay (default 122 s, the kubelet's 2 m 2 s). */
  backoffMaxMs?: number;
  /** Register the Node and send heartbeats (default true). */
  registerNode?: boolean;
  logger?: Logger;
  clock?: Clock;
  random?: Random;
  /** Overrides how TokenRequests are sent (default: POST through `client`). */
  tokenRequester?: TokenRequester;
  /** Overrides where events go (default: the API). */
  events?: EventRecorder;
  /** Called after every pod sync. */
  onPodSynced?: (uid: string, state: PodWorkerState) => void;
}

export interface AgentStats {
  pods: number;
  volumesReady: number;
  watchedObjects: number;
  tokens: ReturnType<TokenManager['stats']>;
}

export class Agent {
  readonly nodeName: string;
  readonly rootDir: string;
  readonly tokens: TokenManager;
  private readonly options: AgentOptions;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly objects: WatchingObjectCache;
  private readonly events: EventRecorder;
  private readonly nodeStatus: NodeStatusManager;
  private readonly limiter: Semaphore;
  private readonly workers = new Map<string, PodWorker>();
  private podInformer: Informer | undefined;
  private unsubscribe: (() => void) | undefined;
  private started = false;
  private stopped = false;

  constructor(options: AgentOptions) {
    if (!options.nodeName) throw new TypeError('Agent: nodeName is required');
    if (!options.rootDir) throw new TypeError('Agent: rootDir is required');
    this.options = options;
    this.nodeName = options.nodeName;
    this.rootDir = resolve(options.rootDir);
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    const client = options.client;
    this.tokens = new TokenManager({
      requester:
        options.tokenRequester ??
        ((ns, sa, tr) => client.create(corePath('serviceaccounts', ns, sa, 'token'), tr) as unknown as Promise<TokenRequest>),
      clock: this.clock,
      random: this.random,
      logger: this.logger,
      refreshQps: options.tokenRefreshQps,
    });
    this.objects = new WatchingObjectCache({
      client,
      createInformer: options.createInformer,
      logger: this.logger,
      onChange: (_ref, uids) => {
        for (const uid of uids) this.workers.get(uid)?.syncSoon();
      },
    });
    this.events = options.events ?? new ApiEventRecorder({ client, nodeName: this.nodeName, clock: this.clock, logger: this.logger });
    this.nodeStatus = new NodeStatusManager({
      client,
      nodeName: this.nodeName,
      nodeIP: options.nodeIP ?? '127.0.0.1',
      rootDir: this.rootDir,
      statusUpdateFrequencyMs: options.nodeStatusUpdateFrequencyMs,
      clock: this.clock,
      logger: this.logger,
    });
    this.limiter = new Semaphore(options.maxConcurrentSyncs ?? 32);
  }

  /**
   * Registers the node, lists the pods bound to it, removes directories of pods that are no
   * longer bound here, and starts a worker per pod. Resolves once every known pod has a worker.
   */
  async start(): Promise<void> {
    if (this.started) throw new TypeError('Agent: already started');
    this.started = true;
    await mkdir(join(this.rootDir, 'pods'), { recursive: true, mode: 0o750 });
    if (this.options.registerNode !== false) await this.nodeStatus.register();
    if (this.stopped) return;

    const informer = this.options.createInformer({
      path: corePath('pods'),
      query: { fieldSelector: `spec.nodeName=${this.nodeName}` },
    });
    this.podInformer = informer;
    let watchFailing = false;
    const watchWorks = () => {
      if (watchFailing) this.logger.info({ node: this.nodeName }, 'the pod watch works again');
      watchFailing = false;
    };
    this.unsubscribe = informer.on({
      add: (pod) => {
        watchWorks();
        this.onPod(pod as Pod);
      },
      update: (pod) => {
        watchWorks();
        this.onPod(pod as Pod);
      },
      error: (err) => {
        if (!watchFailing) this.logger.warn({ node: this.nodeName, err: err.message }, 'the pod watch failed; retrying');
        watchFailing = true;
      },
      delete: (pod) =>
        void this.onPodDeleted(pod as Pod).catch((err: unknown) =>
          this.logger.error({ pod: pod.metadata?.name, err: errorMessage(err) }, 'pod teardown failed'),
        ),
    });
    try {
      await informer.start();
    } catch (err) {
      if (this.stopped) return; // stopped before the first list
      throw err;
    }
    if (this.stopped) return;

    const bound = new Set<string>();
    for (const pod of informer.list() as Pod[]) {
      if (pod.metadata?.uid) bound.add(pod.metadata.uid);
      this.onPod(pod);
    }
    await this.removeOrphans(bound);
    this.tokens.start();
    if (this.options.registerNode !== false) this.nodeStatus.startHeartbeat();
    this.logger.info({ node: this.nodeName, rootDir: this.rootDir, pods: bound.size }, 'agent started');
  }

  /** Stops watching and syncing (volumes stay on disk) and reports the node NotReady. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe?.();
    this.podInformer?.stop();
    await Promise.all([...this.workers.values()].map((w) => w.stop()));
    this.objects.stop();
    this.tokens.stop();
    if (this.events instanceof ApiEventRecorder) await this.events.flush();
    if (this.options.registerNode !== false) await this.nodeStatus.stop();
    this.logger.info({ node: this.nodeName }, 'agent stopped');
  }

  /** The state of a pod's worker (undefined if the agent does not know the pod). */
  podState(uid: string): PodWorkerState | undefined {
    return this.workers.get(uid)?.state;
  }

  stats(): AgentStats {
    let ready = 0;
    for (const w of this.workers.values()) if (w.ready) ready++;
    return { pods: this.workers.size, volumesReady: ready, watchedObjects: this.objects.watched, tokens: this.tokens.stats() };
  }

  private onPod(pod: Pod): void {
    if (this.stopped) return;
    // the agent never reads managedFields; dropping them (from the informer's copy too) saves
    // about half of each cached pod's memory
    if (pod.metadata?.managedFields) delete (pod.metadata as { managedFields?: unknown }).managedFields;
    const uid = pod.metadata?.uid;
    if (!uid || pod.spec?.nodeName !== this.nodeName) return;
    let worker = this.workers.get(uid);
    if (!worker) {
      worker = new PodWorker(
        {
          client: this.options.client,
          nodeName: this.nodeName,
          rootDir: this.rootDir,
          hostIP: this.options.nodeIP ?? '127.0.0.1',
          objects: this.objects,
          tokens: this.tokens,
          events: this.events,
          logger: this.logger,
          clock: this.clock,
          random: this.random,
          limiter: this.limiter,
          nodeAllocatable: () => this.nodeStatus.allocatable,
          syncFrequencyMs: this.options.syncFrequencyMs ?? 60_000,
          backoffInitialMs: this.options.backoffInitialMs ?? 500,
          backoffMaxMs: this.options.backoffMaxMs ?? 122_000,
          onTerminated: (id) => this.objects.release(id),
          onSynced: this.options.onPodSynced,
        },
        pod,
      );
      this.workers.set(uid, worker);
    }
    if (!pod.metadata?.deletionTimestamp) this.objects.retain(uid, objectRefsOf(pod));
    worker.update(pod);
  }

  private async onPodDeleted(pod: Pod): Promise<void> {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    const worker = this.workers.get(uid);
    this.workers.delete(uid);
    this.objects.release(uid);
    await worker?.remove();
    if (!worker) this.tokens.deleteServiceAccountToken(uid);
  }

  /** Removes `<rootDir>/pods/<uid>` of pods no longer bound to this node (left from before a restart). */
  private async removeOrphans(bound: Set<string>): Promise<void> {
    let entries: string[];
    try {
      entries = await readdir(join(this.rootDir, 'pods'));
    } catch {
      return;
    }
    for (const uid of entries) {
      if (bound.has(uid) || this.workers.has(uid)) continue;
      await rm(join(this.rootDir, 'pods', uid), { recursive: true, force: true });
      this.logger.info({ podUID: uid }, 'removed the directory of a pod no longer bound to this node');
    }
  }
}
