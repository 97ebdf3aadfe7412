/**
 * The JWS algorithms Kubernetes signs and verifies with, and how each maps onto `node:crypto`.
 * Kubernetes signs RS256 with any RSA key and ES256/384/512 with P-256/384/521 keys. go-jose's RSA
 * verifier also accepts RS384/512 and PS256/384/512, so an RSA key verifies all six; an EC key
 * verifies only the ES algorithm of its own curve. Nothing else (none, HMAC, EdDSA) is ever accepted.
 */
import { constants } from 'node:crypto';

export type SigningAlgorithm = 'RS256' | 'ES256' | 'ES384' | 'ES512';
export type VerificationAlgorithm = SigningAlgorithm | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512';

export interface AlgorithmSpec {
  readonly kind: 'rsa' | 'ec';
  readonly hash: 'sha256' | 'sha384' | 'sha512';
  /** RSASSA-PSS padding (PS*). */
  readonly pss: boolean;
  /** Byte length of each of R and S (ES*). */
  readonly ecSize: number;
}

const spec = (kind: 'rsa' | 'ec', hash: AlgorithmSpec['hash'], pss: boolean, ecSize: number): AlgorithmSpec => ({
  kind,
  hash,
  pss,
  ecSize,
});

export const ALGORITHMS: ReadonlyMap<string, AlgorithmSpec> = new Map<VerificationAlgorithm, AlgorithmSpec>([
  ['RS256', spec('rsa', 'sha256', false, 0)],
  ['RS384', spec('rsa', 'sha384', false, 0)],
  ['RS512', spec('rsa', 'sha512', false, 0)],
  ['PS256', spec('rsa', 'sha256', true, 0)],
  ['PS384', spec('rsa', 'sha384', true, 0)],
  ['PS512', spec('rsa', 'sha512', true, 0)],
  ['ES256', spec('ec', 'sha256', false, 32)],
  ['ES384', spec('ec', 'sha384', false, 48)],
  ['ES512', spec('ec', 'sha512', false, 66)],
]);

/** Node's curve names for the curves Kubernetes can sign with. */
export const CURVE_ALGORITHMS: ReadonlyMap<string, SigningAlgorithm> = new Map([
  ['prime256v1', 'ES256'],
  ['secp384r1', 'ES384'],
  ['secp521r1', 'ES512'],
]);

export const JWK_CURVES: ReadonlyMap<string, string> = new Map([
  ['prime256v1', 'P-256'],
  ['secp384r1', 'P-384'],
  ['secp521r1', 'P-521'],
]);

export const HASH_OF: Readonly<Record<SigningAlgorithm, AlgorithmSpec['hash']>> = {
  RS256: 'sha256',
  ES256: 'sha256',
  ES384: 'sha384',
  ES512: 'sha512',
};

/** Options for `crypto.verify` with a given algorithm (key filled in by the caller). */
export function verifyPadding(s: AlgorithmSpec): { padding?: number; saltLength?: number; dsaEncoding?: 'ieee-p1363' } {
  if (s.kind === 'ec') return { dsaEncoding: 'ieee-p1363' };
  if (s.pss) return { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO };
  return {};
}
