/**
 * Offline verification: the token library's verifier (signature with the key's own algorithm,
 * issuer, audience intersection, exp/nbf/iat with a 60 s leeway, claim shapes) over a key set that
 * is fetched by OIDC discovery / JWKS URL or given directly. An unknown `kid` triggers one
 * rate-limited refetch before the token is rejected.
 */
import { createVerifier as createTokenVerifier, loadPublicKeys, parseJwks, type PublicKey, type TokenVerifier } from '@boundtoken/token';
import { ResultCache } from './cache.js';
import { VerificationError, fromTokenError, isTokenError } from './errors.js';
import { identityFromClaims, type VerifiedIdentity } from './identity.js';
import { remoteKeySet, staticKeySet, type KeySet } from './key-set.js';
import type { FetchSettings } from './fetch-json.js';
import type { VerifyOptions, Verifier } from './types.js';

export interface OfflineVerifierOptions {
  mode?: 'offline';
  /** The accepted issuer(s) (`iss`); the first one is used for discovery. */
  issuer: string | string[];
  /** Audiences a token must carry (at least one of); the default of every `verify` call. */
  audiences: string[];
  /**
   * Keys given directly, so nothing is fetched: `PublicKey`s, a JWKS (object or JSON text) or PEM
   * public keys/certificates (as in `--service-account-key-file`).
   */
  keys?: PublicKey[] | { keys: unknown[] } | string;
  /** Fetch this JWKS instead of discovering it. */
  jwksUri?: string;
  /** Fetch discovery from here instead of the issuer URL (e.g. the API server's address). */
  discoveryUrl?: string;
  /** TLS and authentication for discovery and JWKS fetches. */
  fetch?: FetchSettings;
  /** Least time between two JWKS fetches (default 10 000 ms). */
  refetchCooldownMs?: number;
  /** Key set lifetime when the JWKS has no `Cache-Control` (default 300 000 ms). */
  defaultMaxAgeMs?: number;
  /**
   * How long a verified token's result is reused (default 10 000 ms, as kube-apiserver caches
   * authentications; 0 disables). Never past the token's `exp`. A removed key stops being trusted
   * within this time.
   */
  cacheTtlMs?: number;
  /** Most cached results (default 10 000). */
  cacheSize?: number;
  /** Clock skew tolerated for exp/nbf/iat (default 60 s, as Kubernetes). */
  leewaySeconds?: number;
  /** Largest token accepted (default 64 KiB). */
  maxTokenBytes?: number;
  /** Clock in ms (default `Date.now`). */
  now?: () => number;
  /** Background key refresh failures (the old keys stay in use). */
  onError?: (err: VerificationError) => void;
}

const KID_CACHE_SIZE = 256;

export function createOfflineVerifier(options: OfflineVerifierOptions): Verifier {
  const issuers = typeof options.issuer === 'string' ? [options.issuer] : options.issuer;
  if (!Array.isArray(issuers) || issuers.length === 0 || issuers.some((i) => typeof i !== 'string' || i === '')) {
    throw new TypeError('createVerifier: issuer must be a non-empty string or array of strings');
  }
  const audiences = checkAudiences(options.audiences, 'audiences');
  const now = options.now ?? Date.now;
  const cache = new ResultCache(options.cacheTtlMs ?? 10_000, options.cacheSize ?? 10_000, now);
  let keySet: KeySet;
  if (options.keys !== undefined) {
    keySet = staticKeySet(toPublicKeys(options.keys));
  } else {
    const remote: Parameters<typeof remoteKeySet>[0] = { issuer: issuers[0]!, now };
    if (options.discoveryUrl !== undefined) remote.discoveryUrl = options.discoveryUrl;
    if (options.jwksUri !== undefined) remote.jwksUri = options.jwksUri;
    if (options.fetch !== undefined) remote.fetch = options.fetch;
    if (options.refetchCooldownMs !== undefined) remote.cooldownMs = options.refetchCooldownMs;
    if (options.defaultMaxAgeMs !== undefined) remote.defaultMaxAgeMs = options.defaultMaxAgeMs;
    if (options.onError !== undefined) remote.onError = options.onError;
    keySet = remoteKeySet(remote);
  }
  const verifier: TokenVerifier = createTokenVerifier({
    keys: keySet,
    issuers,
    leewaySeconds: options.leewaySeconds ?? 60,
    now: () => now() / 1000,
    ...(options.maxTokenBytes !== undefined ? { maxTokenBytes: options.maxTokenBytes } : {}),
  });

  // The kid of each distinct header segment (tokens of one signer share one header).
  const kids = new Map<string, string | undefined>();
  function kidOf(token: string): string | undefined {
    const dot = token.indexOf('.');
    if (dot <= 0 || dot > 1024) return undefined;
    const seg = token.slice(0, dot);
    if (kids.has(seg)) return kids.get(seg);
    let kid: string | undefined;
    try {
      const h = JSON.parse(Buffer.from(seg, 'base64url').toString('utf8')) as { kid?: unknown };
      kid = typeof h?.kid === 'string' && h.kid !== '' ? h.kid : undefined;
    } catch {
      kid = undefined;
    }
    if (kids.size >= KID_CACHE_SIZE) kids.clear();
    kids.set(seg, kid);
    return kid;
  }

  function check(token: string, auds: string[]): VerifiedIdentity {
    const key = cache.enabled ? ResultCache.key(token, auds) : '';
    if (key) {
      const hit = cache.get(key);
      if (hit) return hit;
    }
    try {
      const v = verifier.verify(token, auds);
      const identity = identityFromClaims(v.claims, v.audiences);
      if (key) cache.set(key, identity);
      return identity;
    } catch (err) {
      if (isTokenError(err)) throw fromTokenError(err);
      throw err;
    }
  }

  async function slowPath(token: string, auds: string[], pending: Promise<void> | undefined): Promise<VerifiedIdentity> {
    if (pending) await pending;
    const kid = kidOf(token);
    if (kid !== undefined && !keySet.knows(kid)) await keySet.refetchFor(kid);
    return check(token, auds);
  }

  return {
    mode: 'offline',
    verify(token: string | undefined | null, opts?: VerifyOptions): Promise<VerifiedIdentity> {
      if (typeof token !== 'string') {
        return Promise.reject(new VerificationError('ERR_TOKEN_MISSING', 'no token was presented'));
      }
      try {
        const auds = opts?.audiences === undefined ? audiences : checkAudiences(opts.audiences, 'verify: audiences');
        const pending = keySet.ensure();
        const kid = pending ? undefined : kidOf(token);
        if (pending || (kid !== undefined && !keySet.knows(kid))) return slowPath(token, auds, pending);
        return Promise.resolve(check(token, auds));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    async ready() {
      await keySet.ensure();
    },
    close() {
      cache.clear();
      keySet.close();
    },
  };
}

function toPublicKeys(keys: NonNullable<OfflineVerifierOptions['keys']>): PublicKey[] {
  if (Array.isArray(keys)) return keys;
  if (typeof keys === 'string') return keys.trimStart().startsWith('{') ? parseJwks(keys) : loadPublicKeys(keys);
  if (typeof keys === 'object' && keys !== null && Array.isArray((keys as { keys?: unknown }).keys)) return parseJwks(keys);
  throw new TypeError('createVerifier: keys must be PublicKey[], a JWKS or PEM text');
}

export function checkAudiences(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.some((a) => typeof a !== 'string' || a === '')) {
    throw new TypeError(`${what} must be a non-empty array of non-empty strings`);
  }
  return value as string[];
}
