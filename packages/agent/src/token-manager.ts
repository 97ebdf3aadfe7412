/**
 * The kubelet's token manager (pkg/kubelet/token/token_manager.go, reference/k8s-node.md §1):
 * a cache of TokenRequest responses keyed by (service account, namespace, audiences,
 * expirationSeconds, bound object), refreshed once a token is older than 80 % of its lifetime or
 * 24 h (minus 0–9 s of jitter), where the lifetime comes from `status.expirationTimestamp` and
 * `spec.expirationSeconds` of the response, never from the JWT. When a refresh fails the cached
 * token is served until it expires. Errors are never cached: every call after a failure asks the
 * API again.
 *
 * One addition: refreshes are paced. Pods created together get tokens that cross their 80 % mark
 * together; instead of sending all those TokenRequests in one burst, a refresh whose cached token
 * still has more than 10 % of its lifetime left takes the next free slot of `refreshQps` and keeps
 * serving the cached token until its slot comes (`nextRefreshAt` tells the caller when to come back).
 * When more refreshes are due than the rate allows before a token reaches 90 % of its lifetime, that
 * token picks a random time in the rest of its window instead, so the overflow is spread too.
 * Tokens past 90 % refresh immediately.
 */
import type { TokenRequest } from '@boundtoken/api';
import { systemClock, type Clock, type Random } from './clock.js';
import { AgentError, errorMessage, fromApiError } from './errors.js';
import { silentLogger, type Logger } from './logger.js';

export const MAX_TTL_MS = 24 * 60 * 60 * 1000;
export const GC_PERIOD_MS = 60 * 1000;
/** Jitter is a whole number of seconds in [0, 9] (Go truncates `rand.Float64()*10` seconds). */
export const MAX_JITTER_SECONDS = 10;

/** Sends a TokenRequest (`POST /api/v1/namespaces/NS/serviceaccounts/SA/token`). */
export type TokenRequester = (namespace: string, serviceAccount: string, request: TokenRequest) => Promise<TokenRequest>;

export interface TokenManagerOptions {
  requester: TokenRequester;
  clock?: Clock;
  random?: Random;
  logger?: Logger;
  /**
   * Refreshes of still-valid tokens started per second at most (default 50). Refreshes of tokens
   * with less than 10 % of their lifetime left, and first fetches, are never held back.
   * `Infinity` turns pacing off (the plain kubelet behaviour).
   */
  refreshQps?: number;
}

interface Entry {
  response: TokenRequest;
  /** Pod UID of the bound object, for deleteServiceAccountToken. */
  podUID: string | undefined;
  /** Pacing: the refresh may start at this time; the cached token is served until then. */
  slotAt?: number;
  /** Consecutive failed refreshes, and when the last one failed. */
  failures: number;
  lastFailureAt?: number;
}

export interface TokenManagerStats {
  entries: number;
  /** TokenRequests sent (first fetches and refreshes). */
  requests: number;
  /** Refreshes of cached tokens that succeeded. */
  refreshes: number;
  /** TokenRequests that failed. */
  failures: number;
  /** Times a stale (still valid) token was served because its refresh failed. */
  staleServed: number;
}

export class TokenManager {
  private readonly requester: TokenRequester;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly logger: Logger;
  private readonly slotMs: number;
  private readonly cache = new Map<string, Entry>();
  /** Pod UID → keys of its entries, so per-pod lookups do not scan the whole cache. */
  private readonly byPod = new Map<string, Set<string>>();
  private readonly inflight = new Map<string, Promise<TokenRequest>>();
  private nextSlot = 0;
  private gcTimer: NodeJS.Timeout | undefined;
  private readonly counters = { requests: 0, refreshes: 0, failures: 0, staleServed: 0 };

  constructor(options: TokenManagerOptions) {
    if (typeof options?.requester !== 'function') throw new TypeError('TokenManager: requester must be a function');
    const qps = options.refreshQps ?? 50;
    if (!(qps > 0)) throw new TypeError('TokenManager: refreshQps must be positive');
    this.requester = options.requester;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.logger = options.logger ?? silentLogger;
    this.slotMs = 1000 / qps;
  }

  /** Starts the minute-by-minute removal of expired entries. */
  start(): void {
    if (this.gcTimer) return;
    this.gcTimer = setInterval(() => this.cleanup(), GC_PERIOD_MS);
    this.gcTimer.unref();
  }

  stop(): void {
    if (this.gcTimer) clearInterval(this.gcTimer);
    this.gcTimer = undefined;
  }

  /**
   * A token for service account `name` in `namespace` as `request` asks: from the cache when it
   * does not need a refresh, otherwise from the API.
   */
  async getServiceAccountToken(namespace: string, name: string, request: TokenRequest): Promise<TokenRequest> {
    const key = cacheKey(name, namespace, request);
    const entry = this.cache.get(key);
    if (entry && !this.needsRequest(entry)) return entry.response;
    // one request per key at a time: concurrent callers share it
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.fetch(key, namespace, name, request).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /** Drops every cached token bound to the pod with this UID. */
  deleteServiceAccountToken(podUID: string): void {
    for (const key of this.byPod.get(podUID) ?? []) this.cache.delete(key);
    this.byPod.delete(podUID);
  }

  /** Drops entries whose token has expired (the manager runs this every minute once started). */
  cleanup(): void {
    const now = this.clock.now();
    for (const [key, entry] of this.cache) {
      if (now > expiresAt(entry.response)) this.remove(key, entry);
    }
  }

  /**
   * When the tokens bound to this pod next need attention: the earliest refresh threshold, paced
   * slot, or retry time after a failed refresh (milliseconds since the epoch). Undefined when the
   * pod has no cached token that will ever be refreshed.
   */
  nextRefreshAt(podUID: string): number | undefined {
    let next: number | undefined;
    for (const key of this.byPod.get(podUID) ?? []) {
      const entry = this.cache.get(key);
      if (!entry) continue;
      const at = this.attentionAt(entry);
      if (at !== undefined && (next === undefined || at < next)) next = at;
    }
    return next;
  }

  stats(): TokenManagerStats {
    return { entries: this.cache.size, ...this.counters };
  }

  /** The kubelet's requiresRefresh, plus pacing (see the module comment). */
  private needsRequest(entry: Entry): boolean {
    const now = this.clock.now();
    if (entry.slotAt !== undefined) {
      if (now >= entry.slotAt) return true;
      // waiting for a slot; an urgent token does not wait
      if (now <= urgentAt(entry.response)) return false;
      return true;
    }
    if (!this.requiresRefresh(entry.response)) return false;
    if (entry.failures > 0 || now > urgentAt(entry.response) || !Number.isFinite(this.slotMs)) return true;
    const urgent = urgentAt(entry.response);
    let slot = Math.max(now, this.nextSlot);
    if (slot > urgent) {
      // more refreshes are due than the rate allows before this token's urgent point: take a
      // random time in what is left of its window instead of a slot, so the overflow is spread
      // out rather than sent at once
      slot = now + Math.floor(this.random() * (urgent - now));
    } else {
      this.nextSlot = slot + this.slotMs;
    }
    if (slot <= now) return true;
    entry.slotAt = slot;
    return false;
  }

  /** `requiresRefresh` of the kubelet: 80 % of the lifetime or 24 h, minus 0–9 s of jitter. */
  requiresRefresh(tr: TokenRequest): boolean {
    const expirationSeconds = tr.spec.expirationSeconds;
    if (expirationSeconds === undefined || expirationSeconds === null) {
      this.logger.warn({ serviceAccount: tr.metadata?.name }, 'expiration seconds was nil for token request');
      return false;
    }
    const now = this.clock.now();
    const exp = expiresAt(tr);
    const iat = exp - expirationSeconds * 1000;
    const jitterMs = Math.trunc(this.random() * MAX_JITTER_SECONDS) * 1000;
    if (now > iat + MAX_TTL_MS - jitterMs) return true;
    // int64 arithmetic: 20 % of 3607 s is 721 s
    if (now > exp - Math.trunc((expirationSeconds * 20) / 100) * 1000 - jitterMs) return true;
    return false;
  }

  private async fetch(key: string, namespace: string, name: string, request: TokenRequest): Promise<TokenRequest> {
    const entry = this.cache.get(key);
    this.counters.requests++;
    let response: TokenRequest;
    try {
      response = await this.requester(namespace, name, request);
    } catch (raw) {
      const err = fromApiError(raw);
      this.counters.failures++;
      if (!entry) {
        throw new AgentError('ERR_TOKEN_FETCH', `failed to fetch token: ${errorMessage(err)}`, { cause: err });
      }
      const now = this.clock.now();
      entry.slotAt = undefined;
      entry.failures++;
      entry.lastFailureAt = now;
      if (now > expiresAt(entry.response)) {
        throw new AgentError('ERR_TOKEN_EXPIRED', `token ${key} expired and refresh failed: ${errorMessage(err)}`, {
          cause: err,
        });
      }
      if (entry.failures === 1) {
        this.logger.warn(
          { namespace, serviceAccount: name, podUID: entry.podUID, err: errorMessage(err) },
          "Couldn't update token; serving the cached token until it expires",
        );
      }
      this.counters.staleServed++;
      return entry.response;
    }
    if (typeof response?.status?.token !== 'string' || !Number.isFinite(Date.parse(response.status.expirationTimestamp))) {
      this.counters.failures++;
      throw new AgentError('ERR_TOKEN_FETCH', 'failed to fetch token: the TokenRequest response has no token or expiration time');
    }
    if (entry) {
      this.counters.refreshes++;
      if (entry.failures > 0) {
        this.logger.info(
          { namespace, serviceAccount: name, podUID: entry.podUID, failures: entry.failures },
          'token refreshed after failed attempts',
        );
      }
    }
    const podUID = request.spec.boundObjectRef?.uid ?? undefined;
    // keep only what is served and what refresh decisions read
    response = {
      apiVersion: response.apiVersion,
      kind: response.kind,
      spec: { ...request.spec, expirationSeconds: response.spec?.expirationSeconds },
      status: { token: response.status.token, expirationTimestamp: response.status.expirationTimestamp },
    } as TokenRequest;
    this.cache.set(key, { response, podUID, failures: 0 });
    if (podUID !== undefined) {
      let keys = this.byPod.get(podUID);
      if (!keys) this.byPod.set(podUID, (keys = new Set()));
      keys.add(key);
    }
    return response;
  }

  private remove(key: string, entry: Entry): void {
    this.cache.delete(key);
    if (entry.podUID === undefined) return;
    const keys = this.byPod.get(entry.podUID);
    keys?.delete(key);
    if (keys?.size === 0) this.byPod.delete(entry.podUID);
  }

  private attentionAt(entry: Entry): number | undefined {
    if (entry.slotAt !== undefined) return entry.slotAt;
    const tr = entry.response;
    const expirationSeconds = tr.spec.expirationSeconds;
    if (expirationSeconds === undefined || expirationSeconds === null) return undefined;
    if (entry.failures > 0 && entry.lastFailureAt !== undefined) {
      // retry failed refreshes with backoff (1 s doubling to 64 s), not on every wake-up
      return entry.lastFailureAt + Math.min(64_000, 1000 * 2 ** Math.min(entry.failures - 1, 6));
    }
    const exp = expiresAt(tr);
    const iat = exp - expirationSeconds * 1000;
    return Math.min(iat + MAX_TTL_MS, exp - Math.trunc((expirationSeconds * 20) / 100) * 1000) + 1;
  }
}

function expiresAt(tr: TokenRequest): number {
  return Date.parse(tr.status?.expirationTimestamp ?? '');
}

/** The point after which a due refresh is no longer paced: 10 % of the lifetime left. */
function urgentAt(tr: TokenRequest): number {
  const exp = expiresAt(tr);
  const seconds = tr.spec.expirationSeconds ?? 0;
  return exp - Math.trunc((seconds * 10) / 100) * 1000;
}

/**
 * The cache key: an injective encoding of (service account, namespace, audiences, expiration,
 * bound object reference). Nil audiences and an empty list are different keys, as in the kubelet.
 */
export function cacheKey(name: string, namespace: string, request: TokenRequest): string {
  const spec = request.spec;
  const ref = spec.boundObjectRef;
  return JSON.stringify([
    name,
    namespace,
    spec.audiences ?? null,
    spec.expirationSeconds ?? 0,
    ref ? [ref.apiVersion ?? '', ref.kind ?? '', ref.name ?? '', ref.uid ?? ''] : null,
  ]);
}
