/**
 * Verification of bound service account tokens on the calling thread, in Kubernetes' order
 * (reference/k8s-server.md §4): strict parsing → key selection by `kid` (all keys without one) →
 * signature with the key's own algorithm family → issuer → audience intersection → `nbf`/`exp`/
 * `iat` with a 60 s leeway → claim shapes. Bound-object checks (the service account, pod, secret
 * or node still existing with the same UID) are the server's job and are not done here.
 *
 * Signature and algorithm failures carry go-jose's messages, aggregated over the keys tried as
 * apimachinery's `NewAggregate` prints them, so they read exactly as in Kubernetes.
 */
import { verify as cryptoVerify } from 'node:crypto';
import type { TokenClaims } from './claims.js';
import { TokenError } from './errors.js';
import { ALGORITHMS, verifyPadding, type AlgorithmSpec } from './lib/algorithms.js';
import { goQuote, goQuoteList } from '@boundtoken/api';
import type { PublicKey } from './keys.js';
import { DEFAULT_MAX_TOKEN_BYTES, decodePart, parseHeader, parsePayload, splitToken, type DecodedToken, type JwsHeader } from './parse.js';

export interface KeyResolver {
  /** Keys to try for a token with this `kid`; all keys when `kid` is undefined. */
  keysFor(kid: string | undefined): PublicKey[];
}

export interface VerifierOptions {
  keys: PublicKey[] | KeyResolver;
  /** Accepted issuers (all `--service-account-issuer` values). */
  issuers: string[];
  /** The audiences assumed when verify() is called without any (Kubernetes: the API audiences). */
  defaultAudiences?: string[];
  /** Clock skew tolerated for exp/nbf/iat; default 60 (go-jose's DefaultLeeway). */
  leewaySeconds?: number;
  /** Current time in seconds; default Date.now()/1000. */
  now?: () => number;
  /** Tokens longer than this are rejected before any parsing; default 64 KiB. */
  maxTokenBytes?: number;
}

export interface VerifiedToken {
  header: DecodedToken['header'];
  claims: TokenClaims & Record<string, unknown>;
  /** requested ∩ token audiences, in requested order */
  audiences: string[];
}

export interface TokenVerifier {
  /**
   * Verifies `token` for `audiences` (default: the verifier's `defaultAudiences`). Returns the
   * claims or throws a TokenError; throws TypeError when there is no audience to check against.
   */
  verify(token: string, audiences?: string[]): VerifiedToken;
  /**
   * The same checks and errors, with the signature checked on libuv's thread pool: the calling
   * thread only parses and checks claims (a few µs instead of a whole RSA/ECDSA verification), so
   * a server verifying many distinct tokens uses more than one core. Rejects as verify() throws.
   */
  verifyAsync(token: string, audiences?: string[]): Promise<VerifiedToken>;
}

export const GO_JOSE_UNSUPPORTED_ALGORITHM = 'square/go-jose: unknown/unsupported algorithm';
export const GO_JOSE_CRYPTO_FAILURE = 'square/go-jose: error in cryptographic primitive';
export const NO_KEYS_FOUND = 'invalid signature, no keys found';

/** apimachinery `utilerrors.NewAggregate(...).Error()`: deduplicated, bare when one, else `[a, b]`. */
function aggregate(messages: string[]): string {
  const unique = [...new Set(messages)];
  return unique.length === 1 ? unique[0]! : `[${unique.join(', ')}]`;
}

function accepts(key: PublicKey, alg: string, spec: AlgorithmSpec): boolean {
  // RSA keys (alg RS256) verify every RS*/PS* algorithm; EC keys only the ES algorithm of their curve.
  return spec.kind === 'rsa' ? key.alg === 'RS256' : key.alg === alg;
}

function staticResolver(keys: PublicKey[]): KeyResolver {
  const all = [...keys];
  const byKid = new Map<string, PublicKey[]>();
  for (const k of all) {
    const list = byKid.get(k.kid);
    if (list) list.push(k);
    else byKid.set(k.kid, [k]);
  }
  return { keysFor: (kid) => (kid === undefined ? all : (byKid.get(kid) ?? [])) };
}

function checkKeys(keys: unknown): KeyResolver {
  if (Array.isArray(keys)) {
    for (const k of keys) {
      if (typeof k !== 'object' || k === null || typeof k.kid !== 'string' || typeof k.alg !== 'string' || k.key?.type !== 'public') {
        throw new TypeError('keys must be PublicKey objects (see loadPublicKeys / parseJwks)');
      }
    }
    return staticResolver(keys as PublicKey[]);
  }
  if (typeof keys === 'object' && keys !== null && typeof (keys as KeyResolver).keysFor === 'function') return keys as KeyResolver;
  throw new TypeError('keys must be an array of PublicKey or a KeyResolver');
}

function checkStringList(v: unknown, what: string, nonEmpty: boolean): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string') || (nonEmpty && v.length === 0)) {
    throw new TypeError(`${what} must be ${nonEmpty ? 'a non-empty' : 'an'} array of strings`);
  }
  return [...v];
}

/** The signature-checking core shared by the bound and legacy verifiers. */
export interface JwsCore {
  /** Parses `token` strictly and verifies its signature; returns header and payload. */
  verifySignature(token: string): SignedParts;
  /** The same, with the signature checked on libuv's thread pool (off the event loop). */
  verifySignatureAsync(token: string): Promise<SignedParts>;
}

export interface SignedParts {
  header: JwsHeader;
  payload: Record<string, unknown>;
}

const HEADER_CACHE_SIZE = 256;

export function createJwsCore(keys: PublicKey[] | KeyResolver, maxTokenBytes: number): JwsCore {
  const resolver = checkKeys(keys);
  // Tokens from one signer share one header: parse each distinct header once. The last header
  // seen is checked first by comparing characters in place, without slicing or hashing.
  const headerCache = new Map<string, JwsHeader>();
  let lastPart = '';
  let lastHeader: JwsHeader | undefined;

  function headerOf(token: string, d1: number): JwsHeader {
    if (lastHeader !== undefined && d1 === lastPart.length && token.startsWith(lastPart)) return lastHeader;
    const part = token.slice(0, d1);
    let header = headerCache.get(part);
    if (header === undefined) {
      header = Object.freeze(parseHeader(part));
      if (headerCache.size >= HEADER_CACHE_SIZE) headerCache.clear();
      headerCache.set(part, header);
    }
    lastPart = part;
    lastHeader = header;
    return header;
  }

  /** Everything before the signature check: the parsed parts and the keys to try, in order. */
  function prepare(token: string): Prepared {
    const [d1, d2] = splitToken(token, maxTokenBytes);
    const header = headerOf(token, d1);
    const payload = parsePayload(token.slice(d1 + 1, d2));
    const spec = ALGORITHMS.get(header.alg);
    if (spec === undefined) throw new TokenError('ERR_TOKEN_ALG_NOT_ALLOWED', GO_JOSE_UNSUPPORTED_ALGORITHM);
    const kid = header.kid === '' ? undefined : header.kid;
    const candidates = resolver.keysFor(kid);
    if (candidates.length === 0) throw new TokenError('ERR_TOKEN_NO_MATCHING_KEY', NO_KEYS_FOUND);
    const signature = decodePart(token.slice(d2 + 1), 'signature');
    const data = Buffer.from(token.slice(0, d2), 'latin1');
    return { header, payload, spec, candidates, signature, data, errors: [], anyAccepted: false };
  }

  return {
    verifySignature(token) {
      const p = prepare(token);
      for (let i = 0; i < p.candidates.length; i++) {
        const options = verifyOptions(p, p.candidates[i]!);
        if (options === undefined) continue;
        let ok: boolean;
        try {
          ok = cryptoVerify(p.spec.hash, p.data, options, p.signature);
        } catch {
          ok = false;
        }
        if (ok) return { header: p.header, payload: p.payload };
        p.errors.push(GO_JOSE_CRYPTO_FAILURE);
      }
      throw failure(p);
    },
    async verifySignatureAsync(token) {
      const p = prepare(token);
      for (let i = 0; i < p.candidates.length; i++) {
        const options = verifyOptions(p, p.candidates[i]!);
        if (options === undefined) continue;
        if (await verifyOnThreadPool(p.spec.hash, p.data, options, p.signature)) return { header: p.header, payload: p.payload };
        p.errors.push(GO_JOSE_CRYPTO_FAILURE);
      }
      throw failure(p);
    },
  };
}

interface Prepared {
  header: JwsHeader;
  payload: Record<string, unknown>;
  spec: AlgorithmSpec;
  candidates: PublicKey[];
  signature: Buffer;
  data: Buffer;
  /** Why each key tried so far failed (go-jose's messages). */
  errors: string[];
  /** Whether any key was of the token's algorithm family. */
  anyAccepted: boolean;
}

type VerifyKeyOptions = PublicKey['key'] | { key: PublicKey['key']; padding?: number; saltLength?: number; dsaEncoding?: 'ieee-p1363' };

/** crypto.verify's key argument for one candidate key, or undefined (its reason noted) when the key cannot verify this token. */
function verifyOptions(p: Prepared, key: PublicKey): VerifyKeyOptions | undefined {
  const { spec } = p;
  if (!accepts(key, p.header.alg, spec)) {
    p.errors.push(GO_JOSE_UNSUPPORTED_ALGORITHM);
    return undefined;
  }
  p.anyAccepted = true;
  if (spec.kind === 'ec' && p.signature.length !== 2 * spec.ecSize) {
    p.errors.push(`square/go-jose: invalid signature size, have ${p.signature.length} bytes, wanted ${2 * spec.ecSize}`);
    return undefined;
  }
  return spec.kind === 'rsa' && !spec.pss ? key.key : { key: key.key, ...verifyPadding(spec) };
}

function failure(p: Prepared): TokenError {
  return new TokenError(p.anyAccepted ? 'ERR_TOKEN_SIGNATURE_INVALID' : 'ERR_TOKEN_ALG_NOT_ALLOWED', aggregate(p.errors));
}

/** crypto.verify on libuv's thread pool; false for any failure, as the synchronous check. */
function verifyOnThreadPool(hash: string, data: Buffer, options: VerifyKeyOptions, signature: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      cryptoVerify(hash, data, options, signature, (err, ok) => resolve(err === null && ok));
    } catch {
      resolve(false);
    }
  });
}

function claimsError(message: string): TokenError {
  return new TokenError('ERR_TOKEN_CLAIMS_INVALID', message);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The audiences of a verified token for a request (Kubernetes' `Audiences.Intersect`): the token's
 * `aud` (the implicit audiences when it has none) intersected with the requested ones, in requested
 * order. Throws ERR_TOKEN_AUDIENCE_INVALID when nothing is left.
 */
export function intersectAudiences(aud: unknown, implicit: string[], requested: string[]): string[] {
  let tokenAudiences: string[];
  if (aud === undefined || aud === null) {
    tokenAudiences = implicit;
  } else if (Array.isArray(aud)) {
    for (let i = 0; i < aud.length; i++) if (typeof aud[i] !== 'string') throw claimsError('aud claim must be an array of strings');
    tokenAudiences = aud.length === 0 ? implicit : (aud as string[]);
  } else {
    throw claimsError('aud claim must be an array of strings');
  }
  const out: string[] = [];
  for (let i = 0; i < requested.length; i++) if (tokenAudiences.includes(requested[i]!)) out.push(requested[i]!);
  if (out.length === 0) {
    throw new TokenError(
      'ERR_TOKEN_AUDIENCE_INVALID',
      `token audiences ${goQuoteList(tokenAudiences)} is invalid for the target audiences ${goQuoteList(requested)}`,
    );
  }
  return out;
}

function numericDate(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw claimsError(`${name} claim must be a number`);
  return Math.trunc(v); // go-jose's NumericDate is an int64
}

function checkRef(v: unknown, name: string, required: boolean): void {
  if (v === undefined && !required) return;
  if (!isObject(v)) throw claimsError(`kubernetes.io ${name} claim must be an object`);
  const { name: n, uid } = v;
  if ((n !== undefined && typeof n !== 'string') || (uid !== undefined && typeof uid !== 'string')) {
    throw claimsError(`kubernetes.io ${name} name and uid claims must be strings`);
  }
  if (required && (!n || !uid)) throw claimsError(`kubernetes.io ${name} claim must have a name and a uid`);
}

/** Shape of the private claims Kubernetes' validator reads. */
function checkKubernetesClaims(k: unknown): void {
  if (!isObject(k)) throw claimsError('kubernetes.io claim is missing');
  if (typeof k.namespace !== 'string' || k.namespace === '') throw claimsError('kubernetes.io namespace claim is missing');
  checkRef(k.serviceaccount, 'serviceaccount', true);
  checkRef(k.pod, 'pod', false);
  checkRef(k.secret, 'secret', false);
  checkRef(k.node, 'node', false);
  if (k.warnafter !== undefined) numericDate(k.warnafter, 'kubernetes.io warnafter');
}

export function createVerifier(options: VerifierOptions): TokenVerifier {
  if (typeof options !== 'object' || options === null) throw new TypeError('createVerifier: options must be an object');
  const issuers = new Set(checkStringList(options.issuers, 'issuers', true) ?? []);
  if (issuers.size === 0) throw new TypeError('issuers must be a non-empty array of strings');
  const defaultAudiences = checkStringList(options.defaultAudiences, 'defaultAudiences', false) ?? [];
  const leeway = options.leewaySeconds ?? 60;
  if (typeof leeway !== 'number' || !(leeway >= 0)) throw new TypeError('leewaySeconds must be a number ≥ 0');
  const now = options.now ?? (() => Date.now() / 1000);
  if (typeof now !== 'function') throw new TypeError('now must be a function returning seconds');
  const maxTokenBytes = options.maxTokenBytes ?? DEFAULT_MAX_TOKEN_BYTES;
  if (!Number.isInteger(maxTokenBytes) || maxTokenBytes < 1) throw new TypeError('maxTokenBytes must be a positive integer');
  const core = createJwsCore(options.keys, maxTokenBytes);

  const requestedOf = (audiences: string[] | undefined): string[] => {
    const requested = audiences ?? defaultAudiences;
    if (!Array.isArray(requested) || requested.length === 0) {
      throw new TypeError('verify: no audiences to verify against (pass audiences or set defaultAudiences)');
    }
    return requested;
  };

  /** Everything after the signature, in Kubernetes' order. */
  function checkClaims({ header, payload: c }: SignedParts, requested: string[]): VerifiedToken {
    const iss = c.iss;
    if (iss !== undefined && typeof iss !== 'string') throw claimsError('iss claim must be a string');
    if (iss === undefined || !issuers.has(iss)) {
      throw new TokenError('ERR_TOKEN_ISSUER_INVALID', `token issuer ${goQuote(iss ?? '')} is invalid`);
    }

    const auds = intersectAudiences(c.aud, defaultAudiences, requested);

    if (c.exp === undefined) throw claimsError('exp claim is missing');
    if (c.iat === undefined) throw claimsError('iat claim is missing');
    if (c.nbf === undefined) throw claimsError('nbf claim is missing');
    const exp = numericDate(c.exp, 'exp');
    const iat = numericDate(c.iat, 'iat');
    const nbf = numericDate(c.nbf, 'nbf');
    const t = now();
    if (t + leeway < nbf) throw new TokenError('ERR_TOKEN_NOT_YET_VALID', 'service account token is not valid yet');
    if (t - leeway > exp) throw new TokenError('ERR_TOKEN_EXPIRED', 'service account token has expired');
    if (t + leeway < iat) throw new TokenError('ERR_TOKEN_ISSUED_IN_FUTURE', 'service account token is issued in the future');

    if (typeof c.sub !== 'string') throw claimsError('sub claim must be a string');
    if (c.jti !== undefined && typeof c.jti !== 'string') throw claimsError('jti claim must be a string');
    checkKubernetesClaims(c['kubernetes.io']);

    return { header, claims: c as TokenClaims & Record<string, unknown>, audiences: auds };
  }

  return {
    verify(token: string, audiences?: string[]): VerifiedToken {
      const requested = requestedOf(audiences);
      return checkClaims(core.verifySignature(token), requested);
    },
    async verifyAsync(token: string, audiences?: string[]): Promise<VerifiedToken> {
      const requested = requestedOf(audiences);
      return checkClaims(await core.verifySignatureAsync(token), requested);
    },
  };
}
