/**
 * Signing on the calling thread: RS256 for RSA keys, ES256/384/512 (raw R‖S) for EC keys. The
 * header is exactly `{"alg":…,"kid":…}` — what go-jose writes with no signer options — and is
 * encoded once per signer; per token the only work is the payload JSON, two base64url encodings
 * and `crypto.sign` with the cached private KeyObject.
 */
import { sign as cryptoSign, type KeyObject } from 'node:crypto';
import { serializeClaims } from './claims.js';
import { HASH_OF, type SigningAlgorithm } from './lib/algorithms.js';
import type { SigningKey } from './keys.js';

export interface TokenSigner {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  /** A compact JWS of `claims` (serialised with sorted keys). */
  sign(claims: object): string;
}

/** `{"alg":"…","kid":"…"}` base64url-encoded, as Kubernetes writes the header. */
export function encodedHeader(alg: SigningAlgorithm, kid: string): string {
  return Buffer.from(JSON.stringify({ alg, kid }), 'utf8').toString('base64url');
}

/** Signs `signingInput` (ASCII) with the key's algorithm; returns the base64url signature. */
export function signInput(privateKey: KeyObject, alg: SigningAlgorithm, signingInput: string): string {
  const options = alg === 'RS256' ? privateKey : { key: privateKey, dsaEncoding: 'ieee-p1363' as const };
  return cryptoSign(HASH_OF[alg], Buffer.from(signingInput, 'latin1'), options).toString('base64url');
}

export function createSigner(key: SigningKey): TokenSigner {
  if (typeof key !== 'object' || key === null || key.privateKey?.type !== 'private') {
    throw new TypeError('createSigner: expected a SigningKey (see loadSigningKey / generateSigningKey)');
  }
  const { alg, kid, privateKey } = key;
  const hash = HASH_OF[alg];
  if (hash === undefined) throw new TypeError(`createSigner: unsupported algorithm ${String(alg)}`);
  const headerPrefix = encodedHeader(alg, kid) + '.';
  const prefixBytes = Buffer.from(headerPrefix, 'latin1');
  const prefixLength = prefixBytes.length;
  const options = alg === 'RS256' ? privateKey : { key: privateKey, dsaEncoding: 'ieee-p1363' as const };
  return {
    kid,
    alg,
    sign(claims: object): string {
      const payload = Buffer.from(serializeClaims(claims), 'utf8').toString('base64url');
      // the signing input, written straight into one buffer (no intermediate flattened string)
      const input = Buffer.allocUnsafe(prefixLength + payload.length);
      prefixBytes.copy(input, 0);
      input.write(payload, prefixLength, 'latin1');
      return headerPrefix + payload + '.' + cryptoSign(hash, input, options).toString('base64url');
    },
  };
}
