/**
 * Online verification: a TokenReview through the API server (which also catches tokens whose pod,
 * secret or service account is gone), with the requested audiences, a bounded cache of successes
 * (default 10 s, never past the token's `exp`, as kube-apiserver caches), concurrent reviews of
 * one token shared, deadlines and clear errors. Malformed, oversized, expired and wrong-audience
 * tokens are refused locally without a call: the API server would refuse them the same way.
 */
import type { TokenReview } from '@boundtoken/api';
import { TokenError, decodeToken } from '@boundtoken/token';
import { createKubeClient, type KubeClient } from '../kube/client.js';
import { ApiError } from '../kube/errors.js';
import { inClusterConnection } from '../kube/in-cluster.js';
import { loadKubeconfig } from '../kube/kubeconfig.js';
import type { ClusterConnection, KubeClientShape } from '../kube/types.js';
import { ResultCache } from './cache.js';
import { VerificationError, fromTokenError } from './errors.js';
import { identityFromUser, parseServiceAccountUsername, type VerifiedIdentity } from './identity.js';
import { checkAudiences } from './offline.js';
import type { VerifyOptions, Verifier } from './types.js';

export const TOKEN_REVIEW_PATH = '/apis/authentication.k8s.io/v1/tokenreviews';

export interface OnlineVerifierOptions {
  mode: 'online';
  /** Audiences a token must carry (at least one of); the default of every `verify` call. */
  audiences: string[];
  /**
   * The API server: `'in-cluster'` (the default: the pod's service account), a kubeconfig
   * (`{ kubeconfig?: path, context? }`), a `ClusterConnection`, or an API client to reuse.
   * The identity used needs `create` on `tokenreviews` (ClusterRole `system:auth-delegator`).
   */
  cluster?: 'in-cluster' | { kubeconfig?: string; context?: string } | ClusterConnection | KubeClientShape;
  /** How long a success is reused (default 10 000 ms; 0 disables the cache). Never past `exp`. */
  cacheTtlMs?: number;
  /** Most cached successes (default 10 000; the oldest go first). */
  cacheSize?: number;
  /** Deadline of each TokenReview call (default 5 000 ms). */
  timeoutMs?: number;
  /** Clock skew tolerated by the local expiry check (default 60 s, as the API server). */
  leewaySeconds?: number;
  /** Largest token accepted (default 64 KiB). */
  maxTokenBytes?: number;
  /** Clock in ms (default `Date.now`). */
  now?: () => number;
}

export function createOnlineVerifier(options: OnlineVerifierOptions): Verifier {
  const audiences = checkAudiences(options.audiences, 'audiences');
  const ttl = options.cacheTtlMs ?? 10_000;
  const maxEntries = options.cacheSize ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const leeway = options.leewaySeconds ?? 60;
  const maxTokenBytes = options.maxTokenBytes ?? 64 * 1024;
  const now = options.now ?? Date.now;
  if (!(timeoutMs > 0)) throw new TypeError('createVerifier: timeoutMs must be > 0');
  const cache = new ResultCache(ttl, maxEntries, now);
  const { client, owned } = clientFor(options.cluster);
  const inflight = new Map<string, Promise<VerifiedIdentity>>();

  async function review(token: string, auds: string[], claims: Record<string, unknown>): Promise<VerifiedIdentity> {
    let tr: TokenReview;
    try {
      tr = (await client.create(
        TOKEN_REVIEW_PATH,
        { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: auds } },
        { timeoutMs },
      )) as unknown as TokenReview;
    } catch (err) {
      throw reviewFailed(err);
    }
    const status = tr?.status;
    if (!status || typeof status !== 'object') {
      throw new VerificationError('ERR_REVIEW_FAILED', 'the TokenReview answer has no status');
    }
    if (status.authenticated !== true) {
      throw new VerificationError('ERR_TOKEN_NOT_AUTHENTICATED', status.error || 'the API server did not authenticate the token');
    }
    const user = status.user;
    if (!user || typeof user.username !== 'string') throw new VerificationError('ERR_REVIEW_FAILED', 'the TokenReview answer has no user');
    const sa = parseServiceAccountUsername(user.username);
    if (!sa) {
      throw new VerificationError('ERR_TOKEN_NOT_AUTHENTICATED', `the token authenticates "${user.username}", which is not a service account`);
    }
    const confirmed = Array.isArray(status.audiences) ? auds.filter((a) => status.audiences!.includes(a)) : [];
    if (confirmed.length === 0) {
      throw new VerificationError(
        'ERR_TOKEN_AUDIENCE_INVALID',
        `the API server confirmed audiences ${JSON.stringify(status.audiences ?? [])}, none of the required ${JSON.stringify(auds)}`,
      );
    }
    return identityFromUser(
      { username: user.username, ...(user.uid !== undefined ? { uid: user.uid } : {}), ...(user.groups ? { groups: user.groups } : {}), ...(user.extra ? { extra: user.extra } : {}) },
      sa,
      confirmed,
      { exp: claims.exp, iat: claims.iat },
    );
  }

  async function verify(token: string | undefined | null, opts?: VerifyOptions): Promise<VerifiedIdentity> {
    if (typeof token !== 'string') throw new VerificationError('ERR_TOKEN_MISSING', 'no token was presented');
    const auds = opts?.audiences === undefined ? audiences : checkAudiences(opts.audiences, 'verify: audiences');
    const key = ResultCache.key(token, auds);
    const hit = cache.get(key);
    if (hit) return hit;
    const claims = precheck(token, auds);
    let p = inflight.get(key);
    if (!p) {
      p = review(token, auds, claims).finally(() => inflight.delete(key));
      inflight.set(key, p);
    }
    const identity = await p;
    cache.set(key, identity);
    return identity;
  }

  function precheck(token: string, auds: string[]): Record<string, unknown> {
    let payload: Record<string, unknown>;
    try {
      payload = decodeToken(token, { maxBytes: maxTokenBytes }).payload;
    } catch (err) {
      if (err instanceof TokenError) throw fromTokenError(err);
      throw err;
    }
    const exp = payload.exp;
    if (typeof exp === 'number' && now() / 1000 - leeway > exp) {
      throw new VerificationError('ERR_TOKEN_EXPIRED', 'service account token has expired');
    }
    const aud = payload.aud;
    if (Array.isArray(aud) && aud.length > 0 && !auds.some((a) => aud.includes(a))) {
      throw new VerificationError(
        'ERR_TOKEN_AUDIENCE_INVALID',
        `token audiences ${goList(aud)} is invalid for the target audiences ${goList(auds)}`,
      );
    }
    return payload;
  }

  return {
    mode: 'online',
    verify,
    async ready() {
      // nothing to prefetch: the first review opens the connection
    },
    close() {
      cache.clear();
      if (owned) client.close();
    },
  };
}

function isClient(v: unknown): v is KubeClientShape {
  return typeof v === 'object' && v !== null && typeof (v as KubeClientShape).request === 'function';
}

function clientFor(cluster: OnlineVerifierOptions['cluster']): { client: KubeClientShape; owned: boolean } {
  if (isClient(cluster)) return { client: cluster, owned: false };
  let conn: ClusterConnection;
  if (cluster === undefined || cluster === 'in-cluster') conn = inClusterConnection();
  else if (typeof cluster === 'object' && cluster !== null && 'server' in cluster) conn = cluster;
  else if (typeof cluster === 'object' && cluster !== null) conn = loadKubeconfig(cluster.kubeconfig, cluster.context ? { context: cluster.context } : {});
  else throw new TypeError("createVerifier: cluster must be 'in-cluster', { kubeconfig, context }, a ClusterConnection or an API client");
  const client: KubeClient = createKubeClient(conn, { userAgent: 'boundtoken-client/0.1.0 (tokenreview)' });
  return { client, owned: true };
}

function reviewFailed(err: unknown): VerificationError {
  if (err instanceof ApiError) {
    let hint = '';
    if (err.statusCode === 401) hint = ' (the verifier\'s own credentials were not accepted)';
    if (err.statusCode === 403) hint = ' (the verifier needs "create" on tokenreviews, e.g. the system:auth-delegator ClusterRole)';
    return new VerificationError('ERR_REVIEW_FAILED', `TokenReview failed: ${err.message}${hint}`, { cause: err });
  }
  return new VerificationError('ERR_REVIEW_FAILED', `TokenReview failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

/** A string list as Go's `%q` prints it (how Kubernetes words audience errors). */
function goList(list: unknown[]): string {
  return `[${list.map((a) => JSON.stringify(String(a))).join(' ')}]`;
}
