/**
 * Where store keys live in etcd. Store keys are `/registry/<resource>/…` (DESIGN.md); the etcd
 * backend places that `/registry` root at `--etcd-prefix`, exactly as kube-apiserver does: with the
 * default prefix `/registry` a pod is at `/registry/pods/<ns>/<name>` in etcd, with `/cluster-a`
 * it is at `/cluster-a/pods/<ns>/<name>`. Several clusters can share one etcd under different
 * prefixes; none sees the others' keys.
 */
import { prefixEnd } from '../internal/keys.js';

export const STORE_ROOT = '/registry/';

export interface EtcdRange {
  key: Buffer;
  /** Exclusive end; undefined: the single key `key`. */
  end: Buffer | undefined;
}

export class EtcdKeys {
  /** The etcd key prefix that stands for `/registry/` (the configured prefix plus `/`). */
  readonly base: string;

  constructor(prefix: string) {
    this.base = prefix.replace(/\/+$/, '') + '/';
  }

  /** The etcd key of a store key; store keys must start with `/registry/`. */
  toEtcd(key: string): string {
    if (!key.startsWith(STORE_ROOT)) throw new TypeError(`etcd store keys must start with ${STORE_ROOT} (got ${key})`);
    return this.base + key.slice(STORE_ROOT.length);
  }

  fromEtcd(key: Buffer): string {
    return STORE_ROOT + key.toString('utf8').slice(this.base.length);
  }

  /** The etcd range holding the store keys that start with `prefix`. */
  prefixRange(prefix: string): EtcdRange {
    let start: string;
    if (prefix.startsWith(STORE_ROOT)) start = this.toEtcd(prefix);
    else if (STORE_ROOT.startsWith(prefix)) start = this.base;
    else throw new TypeError(`etcd store prefixes must lie under ${STORE_ROOT} (got ${prefix})`);
    const end = prefixEnd(start);
    return { key: Buffer.from(start), end: end === undefined ? Buffer.from([0]) : Buffer.from(end) };
  }

  /**
   * The range a listing reads: the prefix range, starting after `startAfter` when that lies inside
   * it. Undefined when nothing can follow `startAfter`.
   */
  listRange(prefix: string, startAfter: string | undefined): EtcdRange | undefined {
    const range = this.prefixRange(prefix);
    if (startAfter === undefined || startAfter < prefix) return range;
    if (!startAfter.startsWith(STORE_ROOT)) {
      // outside the root: either every store key follows it, or none does
      return startAfter < STORE_ROOT ? range : undefined;
    }
    const after = Buffer.concat([Buffer.from(this.toEtcd(startAfter)), Buffer.from([0])]);
    return { key: Buffer.compare(after, range.key) > 0 ? after : range.key, end: range.end };
  }
}
