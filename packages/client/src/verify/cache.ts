/**
 * A bounded cache of successful verifications, as kube-apiserver keeps one in front of its token
 * authenticators: an entry lives `ttlMs` (default 10 s) and never past the token's `exp`; when
 * full, expired entries go first, then the oldest. Failures are never cached.
 */
import type { VerifiedIdentity } from './identity.js';

interface Entry {
  identity: VerifiedIdentity;
  until: number;
}

export class ResultCache {
  readonly #map = new Map<string, Entry>();
  readonly #ttl: number;
  readonly #max: number;
  readonly #now: () => number;

  constructor(ttlMs: number, maxEntries: number, now: () => number) {
    if (!(ttlMs >= 0) || !Number.isInteger(maxEntries) || maxEntries < 0) {
      throw new TypeError('createVerifier: cacheTtlMs must be ≥ 0 and cacheSize an integer ≥ 0');
    }
    this.#ttl = ttlMs;
    this.#max = maxEntries;
    this.#now = now;
  }

  get enabled(): boolean {
    return this.#ttl > 0 && this.#max > 0;
  }

  static key(token: string, audiences: string[]): string {
    return audiences.length === 1 ? `${audiences[0]}\n${token}` : `${audiences.join('\u0000')}\n${token}`;
  }

  get(key: string): VerifiedIdentity | undefined {
    const hit = this.#map.get(key);
    if (!hit) return undefined;
    if (hit.until > this.#now()) return hit.identity;
    this.#map.delete(key);
    return undefined;
  }

  set(key: string, identity: VerifiedIdentity): void {
    if (!this.enabled) return;
    const now = this.#now();
    let until = now + this.#ttl;
    if (identity.expiresAt) until = Math.min(until, identity.expiresAt.getTime());
    if (until <= now) return;
    if (this.#map.size >= this.#max) {
      for (const [k, e] of this.#map) if (e.until <= now) this.#map.delete(k);
      while (this.#map.size >= this.#max) this.#map.delete(this.#map.keys().next().value as string);
    }
    this.#map.delete(key);
    this.#map.set(key, { identity, until });
  }

  clear(): void {
    this.#map.clear();
  }

  get size(): number {
    return this.#map.size;
  }
}
