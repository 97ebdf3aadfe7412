/**
 * The agent's Node: registered at start (created, or taken over if it exists), kept Ready with
 * heartbeats, and marked NotReady when the agent stops. Two heartbeats, as the kubelet has:
 * the node Lease in `kube-node-lease` renewed every 10 s (a quarter of its 40 s duration), and
 * the Node's status (conditions with `lastHeartbeatTime`) patched every
 * `nodeStatusUpdateFrequency` (10 s by default). A failing heartbeat is logged once per streak.
 */
import { randomUUID } from 'node:crypto';
import { statfsSync } from 'node:fs';
import os from 'node:os';
import type { Lease, Node, NodeCondition, NodeStatus } from '@boundtoken/api';
import { corePath, type AgentClient } from './client.js';
import { Backoff, systemClock, type Clock } from './clock.js';
import { errorMessage, hasReason, isNotFound } from './errors.js';
import { silentLogger, type Logger } from './logger.js';
import type { NodeAllocatable } from './volumes/resource.js';

export const KUBELET_VERSION = 'v1.32.0-boundtoken';
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
const LEASE_DURATION_SECONDS = 40;

export interface NodeStatusOptions {
  client: AgentClient;
  nodeName: string;
  /** The node's InternalIP (also each pod's hostIP). */
  nodeIP: string;
  /** Directory whose filesystem is reported as ephemeral-storage. */
  rootDir: string;
  statusUpdateFrequencyMs?: number;
  leaseRenewIntervalMs?: number;
  clock?: Clock;
  logger?: Logger;
}

export class NodeStatusManager {
  private readonly client: AgentClient;
  private readonly nodeName: string;
  private readonly nodeIP: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly statusUpdateFrequencyMs: number;
  private readonly leaseRenewIntervalMs: number;
  private readonly resources: NodeAllocatable;
  private readonly bootID = randomUUID();
  private statusTimer: NodeJS.Timeout | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private nodeUID: string | undefined;
  private lease: Lease | undefined;
  private readyState: { status: string; since: string } | undefined;
  private readonly startedAt = iso(Date.now());
  private stopped = false;
  private statusFailing = false;
  private leaseFailing = false;
  private abort = new AbortController();

  constructor(options: NodeStatusOptions) {
    this.client = options.client;
    this.nodeName = options.nodeName;
    this.nodeIP = options.nodeIP;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.statusUpdateFrequencyMs = options.statusUpdateFrequencyMs ?? 10_000;
    this.leaseRenewIntervalMs = options.leaseRenewIntervalMs ?? (LEASE_DURATION_SECONDS * 1000) / 4;
    this.resources = machineResources(options.rootDir);
  }

  /** cpu, memory, ephemeral-storage and pods the node reports (allocatable = capacity). */
  get allocatable(): NodeAllocatable {
    return this.resources;
  }

  /** Creates or takes over the Node, retrying with backoff until it works or `stop()` is called. */
  async register(): Promise<void> {
    const backoff = new Backoff(500, 30_000);
    while (!this.stopped) {
      try {
        await this.registerOnce();
        if (backoff.attempts > 0) this.logger.info({ node: this.nodeName }, 'node registered after failed attempts');
        return;
      } catch (err) {
        if (backoff.attempts === 0) {
          this.logger.warn({ node: this.nodeName, err: errorMessage(err) }, 'could not register the node; retrying');
        }
        await sleep(backoff.next(), this.abort.signal);
      }
    }
  }

  /** Starts the lease and status heartbeats. */
  startHeartbeat(): void {
    if (this.stopped || this.statusTimer) return;
    this.statusTimer = setInterval(() => void this.updateStatus('Ready'), this.statusUpdateFrequencyMs);
    this.leaseTimer = setInterval(() => void this.renewLease(), this.leaseRenewIntervalMs);
    void this.renewLease();
  }

  /** Stops the heartbeats and reports the node NotReady. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort();
    if (this.statusTimer) clearInterval(this.statusTimer);
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    if (this.nodeUID !== undefined) await this.updateStatus('NotReady', true);
  }

  private async registerOnce(): Promise<void> {
    const node = this.buildNode();
    let created: Node;
    try {
      created = (await this.client.create(corePath('nodes'), node)) as Node;
    } catch (err) {
      if (!hasReason(err, 'AlreadyExists') && !hasReason(err, 'Conflict')) throw err;
      created = (await this.client.get(corePath('nodes', undefined, this.nodeName))) as Node;
    }
    this.nodeUID = created.metadata?.uid;
    await this.updateStatus('Ready', true);
  }

  private buildNode(): Node {
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: this.nodeName,
        labels: {
          'kubernetes.io/hostname': this.nodeName,
          'kubernetes.io/os': os.platform(),
          'kubernetes.io/arch': goArch(),
          'beta.kubernetes.io/os': os.platform(),
          'beta.kubernetes.io/arch': goArch(),
        },
      },
      spec: {},
      status: this.buildStatus('Ready'),
    };
  }

  private buildStatus(ready: 'Ready' | 'NotReady'): NodeStatus {
    const now = iso(this.clock.now());
    const readyStatus = ready === 'Ready' ? 'True' : 'False';
    if (this.readyState?.status !== readyStatus) this.readyState = { status: readyStatus, since: now };
    const since = this.readyState.since;
    const cond = (type: string, status: string, reason: string, message: string, lastTransitionTime = this.startedAt): NodeCondition => ({
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: now,
      lastTransitionTime,
    });
    return {
      conditions: [
        cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'boundtoken agent has sufficient memory available'),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'boundtoken agent has no disk pressure'),
        cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'boundtoken agent has sufficient PID available'),
        ready === 'Ready'
          ? cond('Ready', 'True', 'KubeletReady', 'boundtoken agent is posting ready status', since)
          : cond('Ready', 'False', 'AgentStopped', 'boundtoken agent stopped', since),
      ],
      addresses: [
        { type: 'InternalIP', address: this.nodeIP },
        { type: 'Hostname', address: this.nodeName },
      ],
      capacity: { ...this.resources },
      allocatable: { ...this.resources },
      daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
      nodeInfo: {
        machineID: '',
        systemUUID: '',
        bootID: this.bootID,
        kernelVersion: os.release(),
        osImage: `${os.type()} ${os.release()}`,
        containerRuntimeVersion: 'none://boundtoken (runs no containers)',
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: '',
        operatingSystem: os.platform(),
        architecture: goArch(),
      },
    };
  }

  private async updateStatus(ready: 'Ready' | 'NotReady', throwOnError = false): Promise<void> {
    if (this.nodeUID === undefined && ready === 'Ready' && !throwOnError) return;
    try {
      await this.client.patch(corePath('nodes', undefined, this.nodeName, 'status'), { status: this.buildStatus(ready) }, 'merge', {
        timeoutMs: 10_000,
      });
      if (this.statusFailing) this.logger.info({ node: this.nodeName }, 'node status updates work again');
      this.statusFailing = false;
    } catch (err) {
      if (throwOnError && ready === 'Ready') throw err;
      if (!this.statusFailing) this.logger.warn({ node: this.nodeName, err: errorMessage(err) }, 'could not update node status');
      this.statusFailing = true;
    }
  }

  private async renewLease(): Promise<void> {
    if (this.stopped) return;
    const path = `/apis/coordination.k8s.io/v1/namespaces/${NODE_LEASE_NAMESPACE}/leases/${encodeURIComponent(this.nodeName)}`;
    const renewTime = microTime(this.clock.now());
    try {
      if (this.lease) {
        try {
          this.lease = (await this.client.update(path, { ...this.lease, spec: { ...this.lease.spec, renewTime } }, { timeoutMs: 10_000 })) as Lease;
        } catch (err) {
          if (!hasReason(err, 'Conflict') && !isNotFound(err)) throw err;
          this.lease = undefined; // re-read below
        }
      }
      if (!this.lease) {
        let current: Lease | undefined;
        try {
          current = (await this.client.get(path)) as Lease;
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        const spec = { holderIdentity: this.nodeName, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime };
        if (current) {
          this.lease = (await this.client.update(path, { ...current, spec: { ...current.spec, ...spec } })) as Lease;
        } else {
          const body: Lease = {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: {
              name: this.nodeName,
              namespace: NODE_LEASE_NAMESPACE,
              ...(this.nodeUID
                ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.nodeName, uid: this.nodeUID }] }
                : {}),
            },
            spec,
          };
          this.lease = (await this.client.create(`/apis/coordination.k8s.io/v1/namespaces/${NODE_LEASE_NAMESPACE}/leases`, body)) as Lease;
        }
      }
      if (this.leaseFailing) this.logger.info({ node: this.nodeName }, 'node lease renewals work again');
      this.leaseFailing = false;
    } catch (err) {
      if (!this.leaseFailing) this.logger.warn({ node: this.nodeName, err: errorMessage(err) }, 'could not renew the node lease');
      this.leaseFailing = true;
    }
  }
}

/** Capacity of this machine as Kubernetes quantities. */
export function machineResources(rootDir: string): NodeAllocatable {
  const out: NodeAllocatable = {
    cpu: String(os.availableParallelism()),
    memory: `${Math.floor(os.totalmem() / 1024)}Ki`,
    pods: '110',
  };
  try {
    const fs = statfsSync(rootDir);
    out['ephemeral-storage'] = `${Math.floor((fs.blocks * fs.bsize) / 1024)}Ki`;
  } catch {
    // no filesystem information: leave it out
  }
  return out;
}

function goArch(): string {
  const map: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' };
  return map[os.arch()] ?? os.arch();
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
