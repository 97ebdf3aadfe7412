/**
 * One worker per pod bound to the node (the kubelet's pod worker + volume manager, for volumes
 * only). A sync sets up every volume the agent handles, reports the pod's status and schedules the
 * next sync:
 *
 * - healthy: after `syncFrequency` jittered by up to 50 % (60–90 s by default), or earlier when a
 *   cached token is due for refresh, so new tokens and changed configMaps/secrets reach the files;
 * - a volume failed: a `FailedMount` event with Kubernetes' message, and a retry with exponential
 *   backoff (500 ms doubling to 2 m 2 s, as the kubelet's mount operations);
 * - the pod has a deletionTimestamp: its directory is removed, its tokens dropped, and the deletion
 *   confirmed to the API (`DELETE` with gracePeriodSeconds 0 and a UID precondition).
 *
 * Syncs of one pod never overlap (the AtomicWriter needs that); syncs of all pods share a
 * concurrency limit.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Pod, Volume } from '@boundtoken/api';
import { AtomicWriter, cleanPath, DATA_DIR_NAME, type Payload } from './atomic-writer.js';
import { corePath, type AgentClient } from './client.js';
import { Backoff, jitter, type Clock, type Random } from './clock.js';
import { errorMessage, hasReason, isNotFound } from './errors.js';
import type { EventRecorder } from './events.js';
import type { Semaphore } from './semaphore.js';
import type { Logger } from './logger.js';
import { computePodStatus, statusFingerprint } from './pod-status.js';
import type { TokenManager } from './token-manager.js';
import { setVolumeOwnership } from './volume-ownership.js';
import { repairVolumeDir } from './volume-repair.js';
import type { NodeAllocatable } from './volumes/resource.js';
import { collectVolume, fsGroupFrom, fsUserFrom, volumePluginDir, type ObjectGetter } from './volumes/sources.js';

export interface PodWorkerDeps {
  client: AgentClient;
  nodeName: string;
  rootDir: string;
  hostIP: string;
  objects: ObjectGetter;
  tokens: TokenManager;
  events: EventRecorder;
  logger: Logger;
  clock: Clock;
  random: Random;
  limiter: Semaphore;
  nodeAllocatable: () => NodeAllocatable;
  syncFrequencyMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** Called after the pod's teardown (directory removed, deletion confirmed). */
  onTerminated?: (uid: string) => void;
  /** Called after every sync (tests and benchmarks observe progress through it). */
  onSynced?: (uid: string, state: PodWorkerState) => void;
}

export interface PodWorkerState {
  /** Every volume has been set up at least once. */
  volumesReady: boolean;
  /** Volume name → the error of its last failed setup (cleared on success). */
  volumeErrors: Map<string, string>;
  syncs: number;
  terminated: boolean;
}

/** UIDs and volume names become path segments: refuse anything that is not a plain name. */
const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function podDir(rootDir: string, uid: string): string {
  return join(rootDir, 'pods', uid);
}

export function volumeDir(rootDir: string, uid: string, pluginDir: string, volumeName: string): string {
  return join(rootDir, 'pods', uid, 'volumes', pluginDir, volumeName);
}

/** What the worker remembers about one volume. */
interface VolumeState {
  /** Set up successfully at least once. */
  ready: boolean;
  /** The last setup failed (for logging once per streak). */
  error?: string;
  /** The directory exists and was repaired after a possible crash, in this process. */
  prepared: boolean;
  /** Digest of the payload last written (or found unchanged), and where ..data pointed then. */
  digest?: string;
  dataTarget?: string;
  /** Top-level names of that payload. */
  visible?: string[];
}

export class PodWorker {
  readonly uid: string;
  private pod: Pod;
  private readonly deps: PodWorkerDeps;
  private readonly backoff: Backoff;
  private readonly volumes = new Map<string, VolumeState>();
  private timer: NodeJS.Timeout | undefined;
  private timerDueAt = 0;
  private running: Promise<void> | undefined;
  private pending = false;
  private stopped = false;
  private podDirsMade = false;
  /** Digest of the status last written (or found on the pod). */
  private statusWritten: string;
  private volumesReady = false;
  private syncs = 0;
  private terminated = false;

  constructor(deps: PodWorkerDeps, pod: Pod) {
    this.deps = deps;
    this.pod = pod;
    this.uid = pod.metadata?.uid ?? '';
    this.backoff = new Backoff(deps.backoffInitialMs, deps.backoffMaxMs);
    this.statusWritten = digest(statusFingerprint(pod.status));
  }

  /** A snapshot of the worker's progress. */
  get state(): PodWorkerState {
    const volumeErrors = new Map<string, string>();
    for (const [name, v] of this.volumes) if (v.error !== undefined) volumeErrors.set(name, v.error);
    return { volumesReady: this.volumesReady, volumeErrors, syncs: this.syncs, terminated: this.terminated };
  }

  get ready(): boolean {
    return this.volumesReady;
  }

  /** A new version of the pod from the API: sync now. */
  update(pod: Pod): void {
    this.pod = pod;
    this.syncSoon();
  }

  /** Something the pod's volumes use changed: sync now. */
  syncSoon(): void {
    this.schedule(0);
  }

  /** The agent is stopping: no more syncs, files stay. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    await this.running;
  }

  /** The pod is gone from the API: tear down what is left. */
  async remove(): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    await this.running;
    if (!this.terminated) await this.teardown();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Runs a sync after `delayMs`, unless one is already due sooner. */
  private schedule(delayMs: number): void {
    if (this.stopped) return;
    const delay = Math.max(0, delayMs);
    const dueAt = performance.now() + delay;
    if (this.timer && this.timerDueAt <= dueAt) return;
    this.clearTimer();
    this.timerDueAt = dueAt;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.run();
    }, delay);
  }

  private run(): void {
    if (this.running) {
      this.pending = true;
      return;
    }
    this.running = (async () => {
      const release = await this.deps.limiter.acquire();
      let next: number | undefined;
      try {
        if (!this.stopped) next = await this.sync();
      } catch (err) {
        this.deps.logger.error({ pod: this.podName(), err: errorMessage(err) }, 'pod sync failed');
        next = this.backoff.next();
      } finally {
        release();
      }
      this.running = undefined;
      if (this.pending) {
        this.pending = false;
        this.schedule(0);
      } else if (next !== undefined) {
        this.schedule(next);
      }
    })();
  }

  /** One sync; returns the delay until the next one (undefined: none). */
  private async sync(): Promise<number | undefined> {
    const pod = this.pod;
    const { deps } = this;
    this.syncs++;
    if (!SAFE_SEGMENT.test(this.uid)) {
      deps.logger.error({ pod: this.podName(), uid: this.uid }, 'pod UID is not usable as a directory name; ignoring the pod');
      return undefined;
    }
    if (pod.metadata?.deletionTimestamp) return this.terminate();

    if (!this.podDirsMade) {
      await mkdir(join(podDir(deps.rootDir, this.uid), 'volumes'), { recursive: true, mode: 0o750 });
      this.podDirsMade = true;
    }
    const volumes = (pod.spec?.volumes ?? []).filter((v) => volumePluginDir(v) !== undefined);
    const fsUser = fsUserFrom(pod);
    const fsGroup = fsGroupFrom(pod);
    // the downward API sees the pod as the agent reports it
    const podView: Pod = { ...pod, status: { ...pod.status, hostIP: deps.hostIP, hostIPs: [{ ip: deps.hostIP }] } };

    const results = await Promise.all(
      volumes.map(async (volume) => {
        try {
          await this.setUpVolume(volume, podView, fsUser, fsGroup);
          return undefined;
        } catch (err) {
          return errorMessage(err);
        }
      }),
    );

    let failed = false;
    volumes.forEach((volume, i) => {
      const err = results[i];
      const v = this.volumeState(volume.name);
      if (err === undefined) {
        v.ready = true;
        if (v.error !== undefined) deps.logger.info({ pod: this.podName(), volume: volume.name }, 'volume set up after failures');
        v.error = undefined;
        return;
      }
      failed = true;
      // the directory may have been removed under us: recreate and repair on the next attempt
      this.podDirsMade = false;
      v.prepared = false;
      v.digest = undefined;
      const message = `MountVolume.SetUp failed for volume ${JSON.stringify(volume.name)} : ${err}`;
      deps.events.event(pod, 'Warning', 'FailedMount', message);
      if (v.error === undefined) {
        deps.logger.warn({ pod: this.podName(), volume: volume.name, err }, 'volume setup failed; retrying with backoff');
      }
      v.error = err;
    });
    this.volumesReady = volumes.every((v) => this.volumes.get(v.name)?.ready === true);

    const statusOk = await this.writeStatus(pod);
    if (deps.onSynced) deps.onSynced(this.uid, this.state);

    if (failed || !statusOk) return this.backoff.next();
    this.backoff.reset();
    let delay = jitter(deps.syncFrequencyMs, 0.5, deps.random);
    const refreshAt = deps.tokens.nextRefreshAt(this.uid);
    if (refreshAt !== undefined) delay = Math.min(delay, refreshAt - deps.clock.now());
    return delay;
  }

  private async setUpVolume(volume: Volume, pod: Pod, fsUser: number | undefined, fsGroup: number | undefined): Promise<void> {
    const { deps } = this;
    if (!SAFE_SEGMENT.test(volume.name)) throw new Error(`invalid volume name ${JSON.stringify(volume.name)}`);
    // everything is read before anything touches the disk: on error the old files stay
    const payload = await collectVolume(volume, {
      pod,
      objects: deps.objects,
      tokens: deps.tokens,
      nodeAllocatable: deps.nodeAllocatable(),
      fsUser,
      fsGroup,
    });
    const dir = volumeDir(deps.rootDir, this.uid, volumePluginDir(volume)!, volume.name);
    const v = this.volumeState(volume.name);
    const payloadDigest = payloadDigestOf(payload);
    // nothing changed since the last write and the directory still looks as we left it: done
    if (v.digest === payloadDigest && (await this.intact(dir, v))) return;

    const setPerms = fsGroup === undefined ? undefined : () => setVolumeOwnership(dir, fsGroup);
    if (!v.prepared) {
      // an emptyDir is 0777; the pod directory above it is 0750
      await mkdir(dir, { recursive: true });
      await chmod(dir, 0o777);
      await repairVolumeDir(dir, setPerms);
      v.prepared = true;
    }
    const meta = pod.metadata ?? {};
    const writer = await AtomicWriter.open(dir, { logContext: `pod ${meta.namespace}/${meta.name} volume ${volume.name}` });
    v.digest = undefined;
    await writer.write(payload, setPerms);
    v.digest = payloadDigest;
    v.dataTarget = await readlink(join(dir, DATA_DIR_NAME));
    v.visible = topLevelNames(payload);
  }

  /** The volume directory still has our ..data and every top-level link (two system calls). */
  private async intact(dir: string, v: VolumeState): Promise<boolean> {
    try {
      const names = new Set(await readdir(dir));
      if (!v.visible!.every((n) => names.has(n))) return false;
      return (await readlink(join(dir, DATA_DIR_NAME))) === v.dataTarget;
    } catch {
      return false;
    }
  }

  private volumeState(name: string): VolumeState {
    let v = this.volumes.get(name);
    if (!v) this.volumes.set(name, (v = { ready: false, prepared: false }));
    return v;
  }

  private async writeStatus(pod: Pod): Promise<boolean> {
    const { deps } = this;
    const status = computePodStatus({
      pod,
      volumesReady: this.volumesReady,
      nodeName: deps.nodeName,
      hostIP: deps.hostIP,
      now: deps.clock.now(),
    });
    const fingerprint = digest(statusFingerprint(status));
    if (fingerprint === this.statusWritten) return true;
    const meta = pod.metadata ?? {};
    try {
      await deps.client.patch(
        corePath('pods', meta.namespace ?? 'default', meta.name ?? '', 'status'),
        { metadata: { uid: meta.uid }, status },
        'merge',
      );
      this.statusWritten = fingerprint;
      return true;
    } catch (err) {
      if (isNotFound(err)) return true; // the pod is gone; its delete event follows
      deps.logger.warn({ pod: this.podName(), err: errorMessage(err) }, 'could not write pod status');
      return false;
    }
  }

  /** Deletion requested: tear down, then confirm to the API that the node is done with the pod. */
  private async terminate(): Promise<number | undefined> {
    await this.teardown();
    const meta = this.pod.metadata ?? {};
    try {
      await this.deps.client.delete(corePath('pods', meta.namespace ?? 'default', meta.name ?? ''), {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        preconditions: { uid: meta.uid },
      });
    } catch (err) {
      // gone already, or a new pod with the same name (the UID precondition failed)
      if (!isNotFound(err) && !hasReason(err, 'Conflict')) {
        this.deps.logger.warn({ pod: this.podName(), err: errorMessage(err) }, 'could not confirm pod deletion');
        return this.backoff.next();
      }
    }
    this.terminated = true;
    this.stopped = true;
    this.deps.onTerminated?.(this.uid);
    return undefined;
  }

  private async teardown(): Promise<void> {
    this.deps.tokens.deleteServiceAccountToken(this.uid);
    if (SAFE_SEGMENT.test(this.uid)) await rm(podDir(this.deps.rootDir, this.uid), { recursive: true, force: true });
  }

  private podName(): string {
    return `${this.pod.metadata?.namespace}/${this.pod.metadata?.name}`;
  }
}

function digest(text: string): string {
  return createHash('sha1').update(text).digest('base64');
}

/** A digest of everything the writer would compare or set: paths, bytes, modes, owners. */
function payloadDigestOf(payload: Payload): string {
  const h = createHash('sha1');
  for (const path of [...payload.keys()].sort()) {
    const f = payload.get(path)!;
    h.update(`${path}\0${f.mode}\0${f.fsUser ?? ''}\0${Buffer.byteLength(f.data)}\0`);
    h.update(f.data);
  }
  return h.digest('base64');
}

function topLevelNames(payload: Payload): string[] {
  return [...new Set([...payload.keys()].map((p) => cleanPath(p).split('/')[0]!)), DATA_DIR_NAME];
}
