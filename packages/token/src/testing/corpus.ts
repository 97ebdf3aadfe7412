/**
 * A corpus of malformed and forged tokens, each with the error code a verifier must reject it with.
 * Shared by this package's tests and by the server and SDK suites, so every verifier in the
 * project is held to the same cases.
 */
import { createHash, createHmac, sign as cryptoSign } from 'node:crypto';
import type { TokenErrorCode } from '../errors.js';
import type { SigningKey } from '../keys.js';
import { HASH_OF } from '../lib/algorithms.js';

export interface CorpusCase {
  name: string;
  token: string;
  expectedCode: TokenErrorCode;
}

export interface CorpusOptions {
  /** The verifier's (only) key. */
  key: SigningKey;
  /** A key the verifier does not know. */
  otherKey: SigningKey;
  issuer: string;
  audience: string;
  /** The verifier's clock, in seconds. */
  now: number;
  /** The verifier's leeway; default 60. */
  leewaySeconds?: number;
}

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64url');
const enc = (v: unknown): string => b64(JSON.stringify(v));

/** Deterministic filler bytes, so the corpus is the same on every run. */
function filler(seed: string, length: number): Buffer {
  const out: Buffer[] = [];
  let block = createHash('sha512').update(seed).digest();
  let total = 0;
  while (total < length) {
    out.push(block);
    total += block.length;
    block = createHash('sha512').update(block).digest();
  }
  return Buffer.concat(out).subarray(0, length);
}

/** Signs `input` with `key` using its own algorithm (raw R‖S for EC). */
function signRaw(key: SigningKey, input: string): string {
  const options = key.alg === 'RS256' ? key.privateKey : { key: key.privateKey, dsaEncoding: 'ieee-p1363' as const };
  return cryptoSign(HASH_OF[key.alg], Buffer.from(input, 'latin1'), options).toString('base64url');
}

/** A JSON text padded with spaces so its base64url has unused trailing bits (length ≢ 0 mod 3). */
function paddedJson(v: unknown, remainder: 1 | 2): string {
  let s = JSON.stringify(v);
  while (s.length % 3 !== remainder) s += ' ';
  return s;
}

/**
 * ≥ 30 tokens that a verifier created as
 * `createVerifier({ keys: [key], issuers: [issuer], now: () => now, leewaySeconds })` must reject
 * when called as `verify(token, [audience])` (no `defaultAudiences`), each with `expectedCode`.
 * Works for RSA and EC keys alike; `otherKey` may be of either type.
 */
export function forgedTokenCorpus(opts: CorpusOptions): CorpusCase[] {
  const { key, otherKey, issuer, audience, now } = opts;
  const leeway = opts.leewaySeconds ?? 60;
  if (key.kid === otherKey.kid) throw new TypeError('forgedTokenCorpus: key and otherKey must differ');

  const claims = (over: Record<string, unknown> = {}): Record<string, unknown> => {
    const c: Record<string, unknown> = {
      aud: [audience],
      exp: now + 3600,
      iat: now,
      iss: issuer,
      jti: '1c2f7e46-3c6b-4bd4-9d6a-6f4c0e1f5a01',
      'kubernetes.io': {
        namespace: 'default',
        pod: { name: 'web-0', uid: '5bd8a4a0-9f83-4e0c-8d3f-0c1a5c6e7b21' },
        serviceaccount: { name: 'default', uid: 'e5a3b1c2-7d44-4c2a-9b1e-3f6d2a8c9e10' },
      },
      nbf: now,
      sub: 'system:serviceaccount:default:default',
    };
    for (const [k, v] of Object.entries(over)) {
      if (v === undefined) delete c[k];
      else c[k] = v;
    }
    return c;
  };
  const header = { alg: key.alg, kid: key.kid };
  /** header and payload segments as given, signed by `signer` (default: the verifier's key). */
  const signed = (h: string, p: string, signer: SigningKey = key): string => `${h}.${p}.${signRaw(signer, `${h}.${p}`)}`;
  const token = (c: Record<string, unknown> = claims(), h: unknown = header, signer?: SigningKey): string => signed(enc(h), enc(c), signer);

  const valid = token();
  const [vh, vp, vs] = valid.split('.') as [string, string, string];
  const sigBytes = Buffer.from(vs, 'base64url');
  const otherFamilyAlg = key.alg === 'RS256' ? 'ES256' : 'RS256';
  const otherCurveAlg = key.alg === 'ES384' ? 'ES512' : 'ES384';
  const fakeSig = (n: number): string => b64(filler(`sig-${n}`, n));

  // base64 with the standard alphabet: add a header member until the encoding contains '+' or '/'.
  let stdHeader = '';
  for (let i = 0; !/[+/]/.test(stdHeader); i++) {
    stdHeader = Buffer.from(JSON.stringify({ ...header, x: '?'.repeat(i + 1) + '>'.repeat(i) })).toString('base64').replace(/=+$/, '');
  }
  // a canonical base64url payload whose last character carries unused bits, then with them set
  const loosePayload = b64(paddedJson(claims(), 1));
  const lastValue = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(loosePayload.slice(-1));
  const nonCanonicalPayload = loosePayload.slice(0, -1) + 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[lastValue | 1]!;
  const paddedPayload = Buffer.from(paddedJson(claims(), 1)).toString('base64'); // ends in '=='
  const flipped = Buffer.from(sigBytes);
  flipped[flipped.length >> 1]! ^= 0x01;
  const hmac = (alg: 'sha256' | 'sha512', secret: string | Buffer, h: unknown): string => {
    const input = `${enc(h)}.${vp}`;
    return `${input}.${createHmac(alg, secret).update(input).digest('base64url')}`;
  };
  const publicPem = key.key.export({ type: 'spki', format: 'pem' }) as string;
  const publicDer = key.key.export({ type: 'spki', format: 'der' });
  const big = claims({ padding: 'x'.repeat(1024 * 1024) });

  const M: TokenErrorCode = 'ERR_TOKEN_MALFORMED';
  const cases: Array<[string, string, TokenErrorCode]> = [
    // structure
    ['empty string', '', M],
    ['not a JWT', 'invalid token', M],
    ['two parts', `${vh}.${vp}`, M],
    ['four parts', `${valid}.${vs}`, M],
    ['JSON claims instead of a JWS', JSON.stringify(claims()), M],
    ['empty header part', `.${vp}.${vs}`, M],
    ['empty payload part', `${vh}..${vs}`, M],
    ['padded base64 payload (validly signed)', signed(vh, paddedPayload), M],
    ['padded signature', `${valid}==`, M],
    ['standard base64 alphabet in header (validly signed)', signed(stdHeader, vp), M],
    ['non-canonical base64 trailing bits (validly signed)', signed(vh, nonCanonicalPayload), M],
    ['newline inside the payload', `${vh}.${vp.slice(0, 10)}\n${vp.slice(10)}.${vs}`, M],
    ['leading space', ` ${valid}`, M],
    ['trailing newline', `${valid}\n`, M],
    ['header is not JSON', signed(b64('not json'), vp), M],
    ['header is a JSON array', signed(enc([key.alg, key.kid]), vp), M],
    ['header without alg', token(claims(), { kid: key.kid }), M],
    ['alg is not a string', token(claims(), { alg: 256, kid: key.kid }), M],
    ['kid is not a string', token(claims(), { alg: key.alg, kid: 42 }), M],
    ['crit header', token(claims(), { ...header, crit: ['exp'], exp: now }), M],
    ['payload is not JSON', signed(vh, b64('{"iss":')), M],
    ['payload is a JSON array', signed(vh, enc([claims()])), M],
    ['payload is JSON null', signed(vh, b64('null')), M],
    ['payload is a JSON string', signed(vh, enc('claims')), M],
    ['1 MiB token', token(big), 'ERR_TOKEN_TOO_LARGE'],
    // algorithm
    ['alg none, empty signature', `${enc({ alg: 'none' })}.${vp}.`, 'ERR_TOKEN_ALG_NOT_ALLOWED'],
    ['alg none with the kid and a copied signature', `${enc({ alg: 'none', kid: key.kid })}.${vp}.${vs}`, 'ERR_TOKEN_ALG_NOT_ALLOWED'],
    ['alg NONE', `${enc({ alg: 'NONE', kid: key.kid })}.${vp}.`, 'ERR_TOKEN_ALG_NOT_ALLOWED'],
    ['HS256 keyed with the public key PEM', hmac('sha256', publicPem, { alg: 'HS256', kid: key.kid }), 'ERR_TOKEN_ALG_NOT_ALLOWED'],
    ['HS256 keyed with the public key DER, no kid', hmac('sha256', publicDer, { alg: 'HS256' }), 'ERR_TOKEN_ALG_NOT_ALLOWED'],
    ['HS512 keyed with the kid', hmac('sha512', key.kid, { alg: 'HS512', kid: key.kid }), 'ERR_TOKEN_ALG_NOT_ALLOWED'],
    ['EdDSA', `${enc({ alg: 'EdDSA', kid: key.kid })}.${vp}.${fakeSig(64)}`, 'ERR_TOKEN_ALG_NOT_ALLOWED'],
    ['lower-case rs256', `${enc({ alg: key.alg.toLowerCase(), kid: key.kid })}.${vp}.${vs}`, 'ERR_TOKEN_ALG_NOT_ALLOWED'],
    [`${otherFamilyAlg} header on this key (RSA/EC confusion)`, `${enc({ alg: otherFamilyAlg, kid: key.kid })}.${vp}.${fakeSig(otherFamilyAlg === 'ES256' ? 64 : 256)}`, 'ERR_TOKEN_ALG_NOT_ALLOWED'],
    [`${otherCurveAlg} header on this key (wrong curve)`, `${enc({ alg: otherCurveAlg, kid: key.kid })}.${vp}.${fakeSig(otherCurveAlg === 'ES384' ? 96 : 132)}`, 'ERR_TOKEN_ALG_NOT_ALLOWED'],
    // keys
    ['kid of an unknown key, signed by it', token(claims(), { alg: otherKey.alg, kid: otherKey.kid }, otherKey), 'ERR_TOKEN_NO_MATCHING_KEY'],
    ['kid of an unknown key, signed by the right key', token(claims(), { alg: key.alg, kid: otherKey.kid }), 'ERR_TOKEN_NO_MATCHING_KEY'],
    ['this key\'s kid, signed by another key', token(claims(), header, otherKey), 'ERR_TOKEN_SIGNATURE_INVALID'],
    ['no kid, signed by another key', token(claims(), { alg: key.alg }, otherKey), 'ERR_TOKEN_SIGNATURE_INVALID'],
    // signature
    ['empty signature', `${vh}.${vp}.`, 'ERR_TOKEN_SIGNATURE_INVALID'],
    ['truncated signature', `${vh}.${vp}.${b64(sigBytes.subarray(0, sigBytes.length - 3))}`, 'ERR_TOKEN_SIGNATURE_INVALID'],
    ['signature one byte longer', `${vh}.${vp}.${b64(Buffer.concat([sigBytes, Buffer.from([0])]))}`, 'ERR_TOKEN_SIGNATURE_INVALID'],
    ['one bit flipped in the signature', `${vh}.${vp}.${b64(flipped)}`, 'ERR_TOKEN_SIGNATURE_INVALID'],
    ['signature swapped from another token', `${vh}.${vp}.${token(claims({ sub: 'system:serviceaccount:default:other' })).split('.')[2]}`, 'ERR_TOKEN_SIGNATURE_INVALID'],
    ['payload changed after signing', `${vh}.${enc(claims({ 'kubernetes.io': { namespace: 'kube-system', serviceaccount: { name: 'admin', uid: 'x' } } }))}.${vs}`, 'ERR_TOKEN_SIGNATURE_INVALID'],
    ['header changed after signing', `${enc({ ...header, typ: 'JWT' })}.${vp}.${vs}`, 'ERR_TOKEN_SIGNATURE_INVALID'],
    // issuer and audience
    ['issuer not accepted', token(claims({ iss: 'https://evil.example.com' })), 'ERR_TOKEN_ISSUER_INVALID'],
    ['no issuer', token(claims({ iss: undefined })), 'ERR_TOKEN_ISSUER_INVALID'],
    ['legacy issuer', token(claims({ iss: 'kubernetes/serviceaccount' })), 'ERR_TOKEN_ISSUER_INVALID'],
    ['issuer is a number', token(claims({ iss: 1 })), 'ERR_TOKEN_CLAIMS_INVALID'],
    ['audience not requested', token(claims({ aud: ['https://other.example.com'] })), 'ERR_TOKEN_AUDIENCE_INVALID'],
    ['no audience', token(claims({ aud: undefined })), 'ERR_TOKEN_AUDIENCE_INVALID'],
    ['aud as a string', token(claims({ aud: audience })), 'ERR_TOKEN_CLAIMS_INVALID'],
    ['aud array with a number', token(claims({ aud: [audience, 7] })), 'ERR_TOKEN_CLAIMS_INVALID'],
    // time: one second past the leeway, and 59 s / 61 s past it
    [`expired ${leeway + 1} s ago (1 s past the leeway)`, token(claims({ exp: now - leeway - 1, iat: now - 7200, nbf: now - 7200 })), 'ERR_TOKEN_EXPIRED'],
    ['expired 59 s past the leeway', token(claims({ exp: now - leeway - 59, iat: now - 7200, nbf: now - 7200 })), 'ERR_TOKEN_EXPIRED'],
    ['expired 61 s past the leeway', token(claims({ exp: now - leeway - 61, iat: now - 7200, nbf: now - 7200 })), 'ERR_TOKEN_EXPIRED'],
    [`not valid for another ${leeway + 1} s (1 s past the leeway)`, token(claims({ nbf: now + leeway + 1 })), 'ERR_TOKEN_NOT_YET_VALID'],
    ['not valid until 59 s past the leeway', token(claims({ nbf: now + leeway + 59 })), 'ERR_TOKEN_NOT_YET_VALID'],
    ['not valid until 61 s past the leeway', token(claims({ nbf: now + leeway + 61 })), 'ERR_TOKEN_NOT_YET_VALID'],
    [`issued ${leeway + 1} s in the future`, token(claims({ iat: now + leeway + 1 })), 'ERR_TOKEN_ISSUED_IN_FUTURE'],
    ['exp as a string', token(claims({ exp: String(now + 3600) })), 'ERR_TOKEN_CLAIMS_INVALID'],
    ['no exp', token(claims({ exp: undefined })), 'ERR_TOKEN_CLAIMS_INVALID'],
    // Kubernetes claims
    ['no kubernetes.io claim', token(claims({ 'kubernetes.io': undefined })), 'ERR_TOKEN_CLAIMS_INVALID'],
    ['service account without uid', token(claims({ 'kubernetes.io': { namespace: 'default', serviceaccount: { name: 'default' } } })), 'ERR_TOKEN_CLAIMS_INVALID'],
    ['pod ref is a string', token(claims({ 'kubernetes.io': { namespace: 'default', pod: 'web-0', serviceaccount: { name: 'default', uid: 'u' } } })), 'ERR_TOKEN_CLAIMS_INVALID'],
    ['jti is a number', token(claims({ jti: 7 })), 'ERR_TOKEN_CLAIMS_INVALID'],
    ['no sub', token(claims({ sub: undefined })), 'ERR_TOKEN_CLAIMS_INVALID'],
  ];
  return cases.map(([name, t, expectedCode]) => ({ name, token: t, expectedCode }));
}
