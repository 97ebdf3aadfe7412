/**
 * Service account token authentication (reference/k8s-server.md §4), for API requests and for
 * TokenReview: the unverified issuer pre-check, signature/issuer/audience/time checks from
 * @boundtoken/token, then the bound-object checks against the informer caches — the service
 * account, and the pod, secret or node the token is bound to, must exist with the same UID and not
 * have been deleted for more than 60 seconds. Legacy secret-based tokens are checked against the
 * server's copy in their Secret.
 *
 * Successful results are cached for at most 10 s (never past `exp`, never past the moment a bound
 * object's 60 s deletion leeway runs out) and dropped as soon as a bound object changes or goes.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type { KubeObject, Node, Pod, Secret, ServiceAccount } from '@boundtoken/api';
import {
  createLegacyVerifier,
  createVerifier,
  LEGACY_ISSUER,
  peekIssuer,
  serviceAccountExtras,
  serviceAccountGroups,
  serviceAccountUsername,
  TokenError,
  type ObjectRef,
  type TokenClaims,
  type VerifiedToken,
} from '@boundtoken/token';
import type { TokenAuthenticator } from '../auth/authenticate.js';
import type { AuthenticationResult, UserInfo } from '../auth/types.js';
import type { ObjectCache } from '../cache/types.js';
import type { TokenConfig } from './config.js';

const DELETION_LEEWAY_MS = 60_000;
const SUCCESS_TTL_MS = 10_000;
const MAX_CACHE_ENTRIES = 50_000;

/** claims.go's answer for a bound object that is gone (or deleted more than 60 s ago). */
const INVALIDATED = 'service account token has been invalidated';
/** legacy.go's warning when a request uses a legacy token its service account lists in `secrets`. */
export const AUTO_GENERATED_LEGACY_TOKEN_WARNINGS: readonly string[] = [
  'Use tokens from the TokenRequest API or manually created secret-based tokens instead of auto-generated secret-based tokens.',
];
export const LEGACY_TOKEN_LAST_USED_LABEL = 'kubernetes.io/legacy-token-last-used';
export const LEGACY_TOKEN_INVALID_SINCE_LABEL = 'kubernetes.io/legacy-token-invalid-since';

export interface TokenCaches {
  serviceAccounts: ObjectCache<ServiceAccount>;
  pods: ObjectCache<Pod>;
  secrets: ObjectCache<Secret>;
  nodes: ObjectCache<Node>;
}

export interface ServiceAccountAuthenticatorOptions {
  config: TokenConfig;
  caches: TokenCaches;
  now?: () => number;
  /** Called for a token used past its `warnafter` (stale): subject and seconds past. */
  onStale?: (subject: string, secondsAfter: number) => void;
  /** Called when a legacy token is used (to stamp its Secret's last-used label). */
  onLegacyUse?: (secret: Secret) => void;
}

interface CacheEntry {
  result: AuthenticationResult;
  expires: number;
  /** Bound objects this result depends on (`pods/ns/name` …), for invalidation. */
  deps: string[];
}

export interface ServiceAccountAuthenticator extends TokenAuthenticator {
  /** Drops cached results (all, or those depending on one object). */
  invalidate(dep?: string): void;
  close(): void;
  readonly cacheSize: number;
}

function deletedTooLong(obj: { metadata?: { deletionTimestamp?: string } }, nowMs: number): boolean {
  const ts = obj.metadata?.deletionTimestamp;
  return ts !== undefined && Date.parse(ts) + DELETION_LEEWAY_MS < nowMs;
}

/** When a bound object's deletion leeway runs out (cache entries must not outlive it). */
function leewayEnd(obj: { metadata?: { deletionTimestamp?: string } }): number {
  const ts = obj.metadata?.deletionTimestamp;
  return ts === undefined ? Infinity : Date.parse(ts) + DELETION_LEEWAY_MS + 1;
}

class AuthError extends Error {}

type CacheKind = keyof TokenCaches;

/** What a cached result depends on: one object of one informer cache (`pods/ns/name`). */
function depKey(kind: CacheKind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

interface Authenticated {
  result: AuthenticationResult;
  expires: number;
  deps: string[];
}

export function createServiceAccountAuthenticator(o: ServiceAccountAuthenticatorOptions): ServiceAccountAuthenticator {
  const { config, caches } = o;
  const now = o.now ?? Date.now;
  const verifier = createVerifier({
    keys: config.publicKeys,
    issuers: config.issuers,
    defaultAudiences: config.apiAudiences,
    now: () => now() / 1000,
  });
  const legacy = createLegacyVerifier({ keys: config.publicKeys, defaultAudiences: config.apiAudiences });
  const issuers = new Set(config.issuers);

  const cache = new Map<string, CacheEntry>();
  const byDep = new Map<string, Set<string>>();

  const drop = (key: string): void => {
    const e = cache.get(key);
    if (!e) return;
    cache.delete(key);
    for (const d of e.deps) {
      const s = byDep.get(d);
      s?.delete(key);
      if (s && s.size === 0) byDep.delete(d);
    }
  };
  const invalidate = (dep?: string): void => {
    if (dep === undefined) {
      cache.clear();
      byDep.clear();
      return;
    }
    for (const key of [...(byDep.get(dep) ?? [])]) drop(key);
  };
  const store = (key: string, entry: CacheEntry): void => {
    if (cache.size >= MAX_CACHE_ENTRIES) {
      // drop the oldest tenth (Map keeps insertion order)
      let n = Math.ceil(MAX_CACHE_ENTRIES / 10);
      for (const k of cache.keys()) {
        drop(k);
        if (--n === 0) break;
      }
    }
    cache.set(key, entry);
    for (const d of entry.deps) {
      let s = byDep.get(d);
      if (!s) byDep.set(d, (s = new Set()));
      s.add(key);
    }
  };
  const unsubscribe = (['serviceAccounts', 'pods', 'secrets', 'nodes'] as const).map((kind) => {
    const changed = (obj: KubeObject): void => invalidate(depKey(kind, obj.metadata?.namespace ?? '', obj.metadata?.name ?? ''));
    return (caches[kind] as ObjectCache).subscribe({ update: changed, delete: changed });
  });

  function serviceAccount(namespace: string, name: string, uid: string | undefined, nowMs: number): ServiceAccount {
    const sa = caches.serviceAccounts.get(namespace, name);
    if (!sa) throw new AuthError(`serviceaccounts "${name}" not found`);
    // claims.go's order: the UID, then the deletion
    if (uid !== undefined && sa.metadata?.uid !== uid) {
      throw new AuthError(`service account UID (${sa.metadata?.uid}) does not match claim (${uid})`);
    }
    if (deletedTooLong(sa, nowMs)) throw new AuthError(`service account ${namespace}/${name} has been deleted`);
    return sa;
  }

  /** The bound-object checks of a verified token, against the informer caches as they are now. */
  function boundResult(v: VerifiedToken, nowMs: number): Authenticated {
    const c = v.claims as TokenClaims;
    const k = c['kubernetes.io'];
    const ns = k.namespace;
    const deps = [depKey('serviceAccounts', ns, k.serviceaccount.name)];
    let expires = Math.min(nowMs + SUCCESS_TTL_MS, (c.exp + 60) * 1000);
    const sa = serviceAccount(ns, k.serviceaccount.name, k.serviceaccount.uid, nowMs);
    expires = Math.min(expires, leewayEnd(sa));
    /** claims.go's checks of a bound object, in its order: there, its UID, then its deletion. */
    const bound = (what: 'secret' | 'pod' | 'node', kind: CacheKind, namespace: string, ref: ObjectRef): void => {
      const obj = caches[kind].get(namespace, ref.name);
      if (!obj) throw new AuthError(INVALIDATED);
      if (obj.metadata?.uid !== ref.uid) {
        throw new AuthError(`${what} UID (${obj.metadata?.uid}) does not match service account ${what} ref claim (${ref.uid ?? ''})`);
      }
      if (deletedTooLong(obj, nowMs)) throw new AuthError(INVALIDATED);
      deps.push(depKey(kind, namespace, ref.name));
      expires = Math.min(expires, leewayEnd(obj));
    };
    if (k.secret) bound('secret', 'secrets', ns, k.secret);
    // with a pod, its node is only copied from the claim (informational), not looked up
    if (k.pod) bound('pod', 'pods', ns, k.pod);
    else if (k.node) bound('node', 'nodes', '', k.node);
    if (k.warnafter !== undefined && nowMs / 1000 > k.warnafter) {
      o.onStale?.(c.sub, Math.floor(nowMs / 1000 - k.warnafter));
    }
    const user: UserInfo = {
      name: serviceAccountUsername(ns, k.serviceaccount.name),
      uid: k.serviceaccount.uid,
      groups: serviceAccountGroups(ns),
      extra: serviceAccountExtras(c),
    };
    return { result: { kind: 'ok', user, audiences: v.audiences }, expires, deps };
  }

  function authenticateLegacy(token: string, audiences: string[] | undefined, nowMs: number): Authenticated {
    const v = legacy.verify(token, audiences && audiences.length > 0 ? audiences : undefined);
    const { namespace, name, uid } = v.serviceAccount;
    const deps = [depKey('serviceAccounts', namespace, name), depKey('secrets', namespace, v.secretName)];
    let expires = nowMs + SUCCESS_TTL_MS;
    let warnings: readonly string[] | undefined;
    if (config.lookup) {
      // legacyValidator.Validate (pkg/serviceaccount/legacy.go): its own checks, order and wording
      const secret = caches.secrets.get(namespace, v.secretName);
      if (!secret || secret.metadata?.deletionTimestamp) throw new AuthError('Token has been invalidated');
      const stored = Buffer.from(secret.data?.token ?? '', 'base64');
      const given = Buffer.from(token);
      if (stored.length !== given.length || !timingSafeEqual(stored, given)) throw new AuthError("Token does not match server's copy");
      const sa = caches.serviceAccounts.get(namespace, name);
      if (!sa) throw new AuthError(`serviceaccounts "${name}" not found`);
      if (sa.metadata?.deletionTimestamp) throw new AuthError(`ServiceAccount ${namespace}/${name} has been deleted`);
      if (sa.metadata?.uid !== uid) throw new AuthError(`ServiceAccount UID (${sa.metadata?.uid}) does not match claim (${uid})`);
      // a secret the service account lists was made for it automatically (before 1.24)
      if ((sa.secrets ?? []).some((r) => r.name === v.secretName)) warnings = AUTO_GENERATED_LEGACY_TOKEN_WARNINGS;
      o.onLegacyUse?.(secret);
      if (secret.metadata?.labels?.[LEGACY_TOKEN_INVALID_SINCE_LABEL]) {
        throw new AuthError(
          `the token in secret ${namespace}/${v.secretName} for service account ${namespace}/${name} has been marked invalid. Use tokens from the TokenRequest API or manually created secret-based tokens, or remove the '${LEGACY_TOKEN_INVALID_SINCE_LABEL}' label from the secret to temporarily allow use of this token`,
        );
      }
      expires = Math.min(expires, leewayEnd(secret));
    }
    const user: UserInfo = {
      name: serviceAccountUsername(namespace, name),
      uid,
      groups: serviceAccountGroups(namespace),
      extra: {},
    };
    // the warning is part of the result, so a cached result repeats it (as cacheRecorder does)
    return { result: { kind: 'ok', user, audiences: v.audiences, ...(warnings ? { warnings } : {}) }, expires, deps };
  }

  return {
    name: 'serviceaccount',
    get cacheSize() {
      return cache.size;
    },
    invalidate,
    close() {
      for (const u of unsubscribe) u();
      invalidate();
    },
    authenticate(token, audiences) {
      const nowMs = now();
      // the token hashed (not kept) with the audiences; one-shot hashing, without a Hash object
      const key = hash('sha256', audiences === undefined || audiences.length === 0 ? token + '\0' : token + '\0' + audiences.join('\0'), 'base64');
      // a hit was authenticated with an accepted issuer: no need to decode the payload again
      const hit = cache.get(key);
      if (hit) {
        if (hit.expires > nowMs) return hit.result;
        drop(key);
      }
      const iss = peekIssuer(token);
      if (iss === undefined) return { kind: 'none' };
      const failed = (err: unknown): AuthenticationResult => {
        // a token that does not parse as a JWS is not ours (jwt.go: a ParseSigned failure), so the
        // caller hears "invalid bearer token", as from kube-apiserver
        if (err instanceof TokenError && (err.code === 'ERR_TOKEN_MALFORMED' || err.code === 'ERR_TOKEN_TOO_LARGE')) return { kind: 'none' };
        if (err instanceof AuthError || err instanceof TokenError) return { kind: 'error', message: err.message };
        throw err;
      };
      const remember = (r: Authenticated): AuthenticationResult => {
        store(key, r);
        return r.result;
      };
      if (iss === LEGACY_ISSUER) {
        try {
          return remember(authenticateLegacy(token, audiences, nowMs));
        } catch (err) {
          return failed(err);
        }
      }
      if (!issuers.has(iss)) return { kind: 'none' };
      // the signature is checked on libuv's thread pool; the bound objects are then looked up in
      // the caches as they are when it is done (a deletion meanwhile is seen)
      return verifier.verifyAsync(token, audiences && audiences.length > 0 ? audiences : undefined).then(
        (v) => {
          try {
            return remember(boundResult(v, now()));
          } catch (err) {
            return failed(err);
          }
        },
        failed,
      );
    },
  };
}
