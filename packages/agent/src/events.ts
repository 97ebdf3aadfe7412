/**
 * Events about pods (core/v1 Event, source component `kubelet`, host the node), aggregated like
 * client-go's event correlator: the same event for the same pod again bumps `count` and
 * `lastTimestamp` of the existing Event instead of creating a new one. Writes happen in the
 * background, one at a time per event; a failed write is logged once per failure streak.
 */
import type { Event, Pod } from '@boundtoken/api';
import { corePath, type AgentClient } from './client.js';
import { systemClock, type Clock } from './clock.js';
import { errorMessage, isNotFound } from './errors.js';
import { silentLogger, type Logger } from './logger.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  event(pod: Pod, type: EventType, reason: string, message: string): void;
}

export interface ApiEventRecorderOptions {
  client: AgentClient;
  nodeName: string;
  clock?: Clock;
  logger?: Logger;
  /** Distinct events remembered for aggregation (default 4096, oldest forgotten first). */
  cacheSize?: number;
}

interface Aggregate {
  namespace: string;
  name: string;
  count: number;
  /** false until the Event exists in the API */
  created: boolean;
  chain: Promise<void>;
}

const MAX_MESSAGE = 1024;

export class ApiEventRecorder implements EventRecorder {
  private readonly client: AgentClient;
  private readonly nodeName: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly cacheSize: number;
  private readonly cache = new Map<string, Aggregate>();
  private failing = false;
  private seq = 0;

  constructor(options: ApiEventRecorderOptions) {
    this.client = options.client;
    this.nodeName = options.nodeName;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.cacheSize = options.cacheSize ?? 4096;
  }

  event(pod: Pod, type: EventType, reason: string, message: string): void {
    const meta = pod.metadata ?? {};
    const namespace = meta.namespace ?? 'default';
    if (message.length > MAX_MESSAGE) message = `${message.slice(0, MAX_MESSAGE - 3)}...`;
    const key = JSON.stringify([meta.uid, type, reason, message]);
    const now = new Date(this.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    let agg = this.cache.get(key);
    if (agg) {
      // most recently used last
      this.cache.delete(key);
      this.cache.set(key, agg);
    } else {
      agg = { namespace, name: this.eventName(meta.name ?? 'pod'), count: 0, created: false, chain: Promise.resolve() };
      this.cache.set(key, agg);
      if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    }
    agg.count++;
    const a = agg;
    const count = a.count;
    const body: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: a.name, namespace },
      involvedObject: {
        apiVersion: 'v1',
        kind: 'Pod',
        namespace,
        name: meta.name,
        uid: meta.uid,
        resourceVersion: meta.resourceVersion,
      },
      reason,
      message,
      type,
      source: { component: 'kubelet', host: this.nodeName },
      reportingComponent: 'kubelet',
      reportingInstance: this.nodeName,
      firstTimestamp: now,
      lastTimestamp: now,
      count,
    };
    a.chain = a.chain.then(() => this.write(a, body, count, now));
  }

  /** Resolves when every event recorded so far has been written (or has failed). */
  async flush(): Promise<void> {
    await Promise.all([...this.cache.values()].map((a) => a.chain));
  }

  private async write(a: Aggregate, body: Event, count: number, now: string): Promise<void> {
    try {
      if (a.created) {
        try {
          await this.client.patch(corePath('events', a.namespace, a.name), { count, lastTimestamp: now }, 'merge');
        } catch (err) {
          if (!isNotFound(err)) throw err;
          // the Event expired from the API: start a new one
          a.created = false;
        }
      }
      if (!a.created) {
        await this.client.create(corePath('events', a.namespace), body);
        a.created = true;
      }
      if (this.failing) this.logger.info({}, 'writing events works again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.logger.warn({ event: body.reason, err: errorMessage(err) }, 'could not write event');
      this.failing = true;
    }
  }

  /** `<pod>.<hex nanoseconds>` like the kubelet's recorder (plus a counter, so names never collide). */
  private eventName(podName: string): string {
    const nanos = BigInt(this.clock.now()) * 1_000_000n + BigInt(this.seq++ % 1_000_000);
    return `${podName}.${nanos.toString(16)}`;
  }
}
