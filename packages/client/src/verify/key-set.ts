/**
 * The verification keys of an issuer, fetched and kept fresh: OIDC discovery
 * (`<issuer>/.well-known/openid-configuration` → `jwks_uri`) or a JWKS URL given directly; keys
 * indexed by `kid`; the fetched set is used for as long as its `Cache-Control: max-age` says
 * (then refreshed in the background, the old keys still served); a token whose `kid` is unknown
 * triggers one refetch, at most once per `cooldownMs`; failures keep the last good keys.
 */
import { KeyError, parseJwks, type KeyResolver, type PublicKey } from '@boundtoken/token';
import { ApiError } from '../kube/errors.js';
import { VerificationError } from './errors.js';
import { createJsonFetcher, type FetchSettings, type JsonFetcher } from './fetch-json.js';

export interface RemoteKeySetOptions {
  /** The issuer (discovery is fetched from `discoveryUrl` or this URL). */
  issuer: string;
  /** Where to fetch `/.well-known/openid-configuration` from, when it is not the issuer URL. */
  discoveryUrl?: string;
  /** Skip discovery and fetch this JWKS. */
  jwksUri?: string;
  fetch?: FetchSettings;
  /** Least time between two fetches (unknown-kid refetches, refreshes, retries); default 10 000 ms. */
  cooldownMs?: number;
  /** Key set lifetime when the server sends no `Cache-Control` (default 300 000 ms). */
  defaultMaxAgeMs?: number;
  /** Longest key set lifetime whatever the server says (default 86 400 000 ms). */
  maxMaxAgeMs?: number;
  /** Clock in ms (default `Date.now`). */
  now?: () => number;
  /** Background refresh failures (the old keys stay in use). */
  onError?: (err: VerificationError) => void;
}

export interface KeySet extends KeyResolver {
  /** Makes sure there are keys (fetching them the first time); throws ERR_DISCOVERY / ERR_JWKS_FETCH. */
  ensure(): Promise<void> | undefined;
  /** Whether `kid` is known; when not, refetch once (rate-limited) and say whether it is now. */
  knows(kid: string): boolean;
  refetchFor(kid: string): Promise<boolean>;
  close(): void;
  /** Fetch counts and the current kids, for tests and diagnostics. */
  stats(): { fetches: number; kids: string[]; expiresAt: number };
}

/** A fixed set of keys (given directly): nothing is fetched. */
export function staticKeySet(keys: PublicKey[]): KeySet {
  const all = [...keys];
  const byKid = index(all);
  return {
    keysFor: (kid) => (kid === undefined ? all : (byKid.get(kid) ?? [])),
    ensure: () => undefined,
    knows: (kid) => byKid.has(kid),
    refetchFor: async (kid) => byKid.has(kid),
    close: () => undefined,
    stats: () => ({ fetches: 0, kids: [...byKid.keys()], expiresAt: Infinity }),
  };
}

function index(keys: PublicKey[]): Map<string, PublicKey[]> {
  const m = new Map<string, PublicKey[]>();
  for (const k of keys) {
    const list = m.get(k.kid);
    if (list) list.push(k);
    else m.set(k.kid, [k]);
  }
  return m;
}

export function remoteKeySet(options: RemoteKeySetOptions): KeySet {
  const now = options.now ?? Date.now;
  const cooldown = options.cooldownMs ?? 10_000;
  const defaultMaxAge = options.defaultMaxAgeMs ?? 300_000;
  const maxMaxAge = options.maxMaxAgeMs ?? 86_400_000;
  const discoveryBase = (options.discoveryUrl ?? options.issuer).replace(/\/+$/, '');
  const trustedOrigin = safeOrigin(discoveryBase);
  const fetcher: JsonFetcher = createJsonFetcher(options.fetch ?? {}, trustedOrigin);

  let all: PublicKey[] = [];
  let byKid = new Map<string, PublicKey[]>();
  let loaded = false;
  let expiresAt = 0;
  let lastAttempt = -Infinity;
  let lastError: VerificationError | undefined;
  let inflight: Promise<void> | undefined;
  let jwksUri = options.jwksUri;
  let fetches = 0;

  async function discover(): Promise<string> {
    const url = `${discoveryBase}/.well-known/openid-configuration`;
    let doc: unknown;
    try {
      doc = (await fetcher.get(url)).body;
    } catch (err) {
      throw new VerificationError('ERR_DISCOVERY', `cannot fetch OIDC discovery ${url}: ${describe(err)}`, { cause: err });
    }
    const d = doc as { issuer?: unknown; jwks_uri?: unknown } | null;
    if (!d || typeof d !== 'object') throw new VerificationError('ERR_DISCOVERY', `OIDC discovery ${url} is not a JSON object`);
    if (d.issuer !== options.issuer) {
      throw new VerificationError('ERR_DISCOVERY', `OIDC discovery ${url} is for issuer ${JSON.stringify(d.issuer)}, not ${JSON.stringify(options.issuer)}`);
    }
    if (typeof d.jwks_uri !== 'string' || !/^https?:\/\//.test(d.jwks_uri)) {
      throw new VerificationError('ERR_DISCOVERY', `OIDC discovery ${url} has no usable jwks_uri`);
    }
    return d.jwks_uri;
  }

  async function load(): Promise<void> {
    lastAttempt = now();
    fetches++;
    const uri = jwksUri ?? (await discover());
    let fetched;
    try {
      fetched = await fetcher.get(uri);
    } catch (err) {
      if (options.jwksUri === undefined) jwksUri = undefined; // re-discover next time
      throw new VerificationError('ERR_JWKS_FETCH', `cannot fetch JWKS ${uri}: ${describe(err)}`, { cause: err });
    }
    let keys: PublicKey[];
    try {
      keys = parseJwks(fetched.body as object);
    } catch (err) {
      throw new VerificationError('ERR_JWKS_FETCH', `JWKS ${uri} is invalid: ${(err as Error).message}`, { cause: err });
    }
    if (keys.length === 0) throw new VerificationError('ERR_JWKS_FETCH', `JWKS ${uri} has no usable RSA or EC signing keys`);
    jwksUri = uri;
    all = keys;
    byKid = index(keys);
    loaded = true;
    lastError = undefined;
    const age = fetched.maxAgeMs ?? defaultMaxAge;
    expiresAt = now() + Math.min(maxMaxAge, Math.max(age, cooldown));
  }

  function fetchOnce(): Promise<void> {
    inflight ??= load()
      .catch((err: unknown) => {
        lastError = err instanceof VerificationError ? err : new VerificationError('ERR_JWKS_FETCH', describe(err), { cause: err });
        throw lastError;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  }

  function mayFetch(): boolean {
    return now() - lastAttempt >= cooldown;
  }

  return {
    keysFor: (kid) => (kid === undefined ? all : (byKid.get(kid) ?? [])),
    ensure() {
      if (loaded) {
        if (now() >= expiresAt && !inflight && mayFetch()) {
          fetchOnce().catch((err: VerificationError) => options.onError?.(err));
        }
        return undefined;
      }
      if (inflight) return inflight;
      // Not loaded yet: fetch, but do not hammer a failing issuer (one attempt per second at most).
      if (lastError && now() - lastAttempt < Math.min(cooldown, 1000)) return Promise.reject(lastError);
      return fetchOnce();
    },
    knows: (kid) => byKid.has(kid),
    async refetchFor(kid) {
      if (inflight) {
        await inflight.catch(() => undefined);
        return byKid.has(kid);
      }
      if (!mayFetch()) return false;
      try {
        await fetchOnce();
      } catch (err) {
        options.onError?.(err as VerificationError);
      }
      return byKid.has(kid);
    },
    close: () => fetcher.close(),
    stats: () => ({ fetches, kids: [...byKid.keys()], expiresAt }),
  };
}

function safeOrigin(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

function describe(err: unknown): string {
  if (err instanceof ApiError || err instanceof KeyError || err instanceof Error) return err.message;
  return String(err);
}
