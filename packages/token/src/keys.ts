/**
 * Keys: loading PEM files by client-go's keyutil rules, the Kubernetes `kid`, JWK import and key
 * generation. Every key is turned into `node:crypto` KeyObjects once, here; signing and
 * verification never parse a key again.
 *
 * keyutil rules (reference/k8s-server.md §8):
 * - signing key: the first block labelled `EC PRIVATE KEY` (SEC1), `RSA PRIVATE KEY` (PKCS#1) or
 *   `PRIVATE KEY` (PKCS#8) that parses; other blocks are skipped.
 * - verification keys: every block, whatever its label, that is an RSA PKCS#1/PKCS#8 private key, an
 *   RSA PKIX public key or certificate, an EC SEC1 private key, or an EC PKIX public key or
 *   certificate. A PKCS#8 EC private key and a PKCS#1 `RSA PUBLIC KEY` are not recognised.
 */
import {
  X509Certificate,
  createECDH,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as cryptoSign,
  verify as cryptoVerify,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { KeyError } from './errors.js';
import { CURVE_ALGORITHMS, JWK_CURVES, type SigningAlgorithm } from './lib/algorithms.js';
import {
  OID_EC_PUBLIC_KEY,
  OID_ED25519,
  OID_RSA_ENCRYPTION,
  OID_X25519,
  algorithmOidHex,
  classifyKeyDer,
  spkiPointFormat,
} from './lib/der.js';
import { decodePemBlocks } from './lib/pem.js';

export type { SigningAlgorithm } from './lib/algorithms.js';

export interface PublicKey {
  /** base64url(SHA-256(SPKI DER)), or the `kid` of the JWK it was imported from. */
  kid: string;
  /** The algorithm Kubernetes signs with this key: RS256 for RSA, ES256/384/512 by curve. */
  alg: SigningAlgorithm;
  /** The public KeyObject. */
  key: KeyObject;
}

export interface SigningKey extends PublicKey {
  privateKey: KeyObject;
  /** The private key as PKCS#8 PEM, to hand to signing workers. */
  privateKeyPem: string;
}

export const NO_PRIVATE_KEY_MESSAGE = 'data does not contain a valid RSA or ECDSA private key';
export const NO_PUBLIC_KEYS_MESSAGE = 'data does not contain any valid RSA or ECDSA public keys';
const UNKNOWN_CURVE_MESSAGE = 'unknown private key curve, must be 256, 384, or 521';

/** Curves Go's x509 package parses (P-224 included: it parses, but cannot sign or be served). */
const GO_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1', 'secp224r1']);

/** base64url(SHA-256(DER SubjectPublicKeyInfo)) — Kubernetes' `keyIDFromPublicKey`. */
export function keyIdOf(publicKey: KeyObject): string {
  const pub = canonicalPublicKey(publicKey.type === 'private' ? createPublicKey(publicKey) : publicKey);
  return createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('base64url');
}

/** The public key with an uncompressed EC point, as Go marshals it (kid and JWKS depend on it). */
function canonicalPublicKey(key: KeyObject): KeyObject {
  if (key.asymmetricKeyType !== 'ec') return key;
  if (spkiPointFormat(key.export({ type: 'spki', format: 'der' })) === 0x04) return key;
  return createPublicKey({ key: key.export({ format: 'jwk' }), format: 'jwk' });
}

function signingAlgorithmOf(key: KeyObject): SigningAlgorithm | undefined {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec') return CURVE_ALGORITHMS.get(key.asymmetricKeyDetails?.namedCurve ?? '');
  return undefined;
}

/** Wraps a public KeyObject (RSA or EC on P-256/384/521) as a PublicKey with its Kubernetes kid. */
export function publicKeyFromKeyObject(key: KeyObject, kid?: string): PublicKey {
  if (key.type !== 'public') throw new TypeError('publicKeyFromKeyObject: expected a public KeyObject');
  const alg = signingAlgorithmOf(key);
  if (alg === undefined) throw new KeyError('ERR_KEY_UNSUPPORTED', unsupportedMessage(key));
  const pub = canonicalPublicKey(key);
  return { kid: kid ?? keyIdOf(pub), alg, key: pub };
}

function unsupportedMessage(key: KeyObject): string {
  if (key.asymmetricKeyType === 'ec') return UNKNOWN_CURVE_MESSAGE;
  const goType =
    key.asymmetricKeyType === 'ed25519' ? 'ed25519.PrivateKey' : key.asymmetricKeyType === 'x25519' ? '*ecdh.PrivateKey' : String(key.asymmetricKeyType);
  return `unknown private key type ${goType}, must be *rsa.PrivateKey, *ecdsa.PrivateKey, or jose.OpaqueSigner`;
}

function signingKeyFromPrivate(privateKey: KeyObject): SigningKey {
  const alg = signingAlgorithmOf(privateKey);
  if (alg === undefined) throw new KeyError('ERR_KEY_UNSUPPORTED', unsupportedMessage(privateKey));
  const pub = canonicalPublicKey(createPublicKey(privateKey));
  return {
    kid: keyIdOf(pub),
    alg,
    key: pub,
    privateKey,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

function tryPrivate(der: Buffer, type: 'pkcs1' | 'pkcs8' | 'sec1'): KeyObject | undefined {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: der, format: 'der', type });
  } catch {
    return undefined;
  }
  return consistentPrivate(key);
}

const PAIRWISE_TEST_DATA = Buffer.from('boundtoken pairwise consistency test');

/**
 * Go validates what OpenSSL takes on trust: an RSA key must be consistent (Go's
 * ParsePKCS1PrivateKey runs key.Validate, so a corrupted key is skipped), and an EC key's public
 * point is derived from the private scalar (an embedded public key is ignored). Returns the key
 * as Go would use it, or undefined when Go would refuse it.
 */
function consistentPrivate(key: KeyObject): KeyObject | undefined {
  try {
    if (key.asymmetricKeyType === 'rsa') {
      const sig = cryptoSign('sha256', PAIRWISE_TEST_DATA, key);
      return cryptoVerify('sha256', PAIRWISE_TEST_DATA, createPublicKey(key), sig) ? key : undefined;
    }
    if (key.asymmetricKeyType === 'ec') {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      // P-224 has no JWK form; it is refused later anyway (no signing algorithm).
      if (!CURVE_ALGORITHMS.has(curve ?? '')) return key;
      const jwk = key.export({ format: 'jwk' });
      if (curve === undefined || jwk.d === undefined) return undefined;
      const ecdh = createECDH(curve);
      ecdh.setPrivateKey(Buffer.from(jwk.d, 'base64url'));
      const point = ecdh.getPublicKey();
      const size = (point.length - 1) / 2;
      const x = point.subarray(1, 1 + size).toString('base64url');
      const y = point.subarray(1 + size).toString('base64url');
      if (x === jwk.x && y === jwk.y) return key;
      return createPrivateKey({ key: { kty: 'EC', crv: jwk.crv, d: jwk.d, x, y }, format: 'jwk' });
    }
    return key;
  } catch {
    return undefined;
  }
}

function isGoEcKey(key: KeyObject | undefined): key is KeyObject {
  return key?.asymmetricKeyType === 'ec' && GO_CURVES.has(key.asymmetricKeyDetails?.namedCurve ?? '');
}

/** A private key Go's x509 would return for this block, or undefined (block skipped). */
function parsePrivateBlock(type: string, der: Buffer): KeyObject | undefined {
  const structure = classifyKeyDer(der);
  switch (type) {
    case 'EC PRIVATE KEY': {
      if (structure !== 'sec1-private') return undefined;
      const k = tryPrivate(der, 'sec1');
      return isGoEcKey(k) ? k : undefined;
    }
    case 'RSA PRIVATE KEY': {
      if (structure !== 'pkcs1-private') return undefined;
      const k = tryPrivate(der, 'pkcs1');
      return k?.asymmetricKeyType === 'rsa' ? k : undefined;
    }
    case 'PRIVATE KEY': {
      if (structure !== 'pkcs8-private') return undefined;
      const oid = algorithmOidHex(der, 'pkcs8-private');
      const k = tryPrivate(der, 'pkcs8');
      if (oid === OID_RSA_ENCRYPTION) return k?.asymmetricKeyType === 'rsa' ? k : undefined;
      if (oid === OID_EC_PUBLIC_KEY) return isGoEcKey(k) ? k : undefined;
      // Go parses these, and Kubernetes then refuses them when building the signer.
      if (oid === OID_ED25519 || oid === OID_X25519) return k;
      return undefined;
    }
    default:
      return undefined;
  }
}

/**
 * The signing key of a PEM file, by `keyutil.ParsePrivateKeyPEM` and then the signer's checks:
 * the first parseable private key block wins; an EC key must be on P-256, P-384 or P-521.
 */
export function loadSigningKey(pem: string | Buffer): SigningKey {
  if (typeof pem !== 'string' && !Buffer.isBuffer(pem)) throw new TypeError('loadSigningKey: expected a string or Buffer');
  for (const block of decodePemBlocks(pem)) {
    const key = parsePrivateBlock(block.type, block.bytes);
    if (key) return signingKeyFromPrivate(key);
  }
  throw new KeyError('ERR_KEY_NO_PRIVATE_KEY', NO_PRIVATE_KEY_MESSAGE);
}

/** A public key for the verification set, or undefined when keyutil would skip the block. */
function parsePublicBlock(der: Buffer): KeyObject | undefined {
  switch (classifyKeyDer(der)) {
    case 'pkcs1-private': {
      const k = tryPrivate(der, 'pkcs1');
      return k?.asymmetricKeyType === 'rsa' ? createPublicKey(k) : undefined;
    }
    case 'pkcs8-private': {
      // parseRSAPrivateKey accepts PKCS#8 only for RSA; there is no PKCS#8 path for EC keys.
      if (algorithmOidHex(der, 'pkcs8-private') !== OID_RSA_ENCRYPTION) return undefined;
      const k = tryPrivate(der, 'pkcs8');
      return k?.asymmetricKeyType === 'rsa' ? createPublicKey(k) : undefined;
    }
    case 'sec1-private': {
      const k = tryPrivate(der, 'sec1');
      return isGoEcKey(k) ? createPublicKey(k) : undefined;
    }
    case 'spki': {
      const oid = algorithmOidHex(der, 'spki');
      if (oid !== OID_RSA_ENCRYPTION && oid !== OID_EC_PUBLIC_KEY) return undefined;
      try {
        return usablePublic(createPublicKey({ key: der, format: 'der', type: 'spki' }));
      } catch {
        return undefined;
      }
    }
    case 'certificate': {
      try {
        return usablePublic(new X509Certificate(der).publicKey);
      } catch {
        return undefined;
      }
    }
    default:
      return undefined;
  }
}

/** RSA, or EC on a curve Go knows with an uncompressed point (Go's x509 rejects compressed points). */
function usablePublic(key: KeyObject): KeyObject | undefined {
  if (key.asymmetricKeyType === 'rsa') return key;
  if (!isGoEcKey(key)) return undefined;
  return spkiPointFormat(key.export({ type: 'spki', format: 'der' })) === 0x04 ? key : undefined;
}

/**
 * Every verification key of a PEM file, by `keyutil.ParsePublicKeysPEM`: each block is tried as
 * an RSA PKCS#1/PKCS#8 private key, RSA PKIX public key or certificate, EC SEC1 private key, EC
 * PKIX public key or certificate; private keys contribute their public half. P-224 keys, which Go
 * would load but which can neither verify a Kubernetes token nor appear in a JWKS, are skipped.
 */
export function loadPublicKeys(pem: string | Buffer): PublicKey[] {
  if (typeof pem !== 'string' && !Buffer.isBuffer(pem)) throw new TypeError('loadPublicKeys: expected a string or Buffer');
  const keys: PublicKey[] = [];
  for (const block of decodePemBlocks(pem)) {
    const key = parsePublicBlock(block.bytes);
    if (key && signingAlgorithmOf(key) !== undefined) keys.push(publicKeyFromKeyObject(key));
  }
  if (keys.length === 0) throw new KeyError('ERR_KEY_NO_PUBLIC_KEYS', NO_PUBLIC_KEYS_MESSAGE);
  return keys;
}

const JWK_CURVE_SIZES: ReadonlyMap<string, number> = new Map([
  ['P-256', 32],
  ['P-384', 48],
  ['P-521', 66],
]);
const RSA_JWK_ALGS = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']);
const B64URL = /^[A-Za-z0-9_-]+$/;

function b64urlLength(s: unknown): number {
  return typeof s === 'string' && B64URL.test(s) ? Buffer.from(s, 'base64url').length : -1;
}

/**
 * A verification key from a JWK (as found in a JWKS). Only the public members are used; the kid is
 * the JWK's own when it has one, else the Kubernetes kid of the key.
 */
export function publicKeyFromJwk(jwk: JsonWebKey & { kid?: string }): PublicKey {
  if (typeof jwk !== 'object' || jwk === null) throw new TypeError('publicKeyFromJwk: expected a JWK object');
  const invalid = (why: string, cause?: unknown): KeyError =>
    new KeyError('ERR_KEY_INVALID_JWK', `invalid JWK${typeof jwk.kid === 'string' ? ` "${jwk.kid}"` : ''}: ${why}`, { cause });
  if (jwk.use !== undefined && jwk.use !== 'sig') throw invalid(`"use" is ${JSON.stringify(jwk.use)}, not "sig"`);
  if (jwk.kid !== undefined && (typeof jwk.kid !== 'string' || jwk.kid === '')) throw invalid('"kid" must be a non-empty string');
  let pub: JsonWebKey;
  if (jwk.kty === 'RSA') {
    if (b64urlLength(jwk.n) < 1 || b64urlLength(jwk.e) < 1) throw invalid('"n" and "e" must be base64url');
    if (jwk.alg !== undefined && !(typeof jwk.alg === 'string' && RSA_JWK_ALGS.has(jwk.alg))) throw invalid(`"alg" ${JSON.stringify(jwk.alg)} does not fit an RSA key`);
    pub = { kty: 'RSA', n: jwk.n, e: jwk.e };
  } else if (jwk.kty === 'EC') {
    const size = JWK_CURVE_SIZES.get(jwk.crv ?? '');
    if (size === undefined) throw invalid(`unsupported curve ${JSON.stringify(jwk.crv)}`);
    if (b64urlLength(jwk.x) !== size || b64urlLength(jwk.y) !== size) throw invalid(`"x" and "y" must be ${size} bytes`);
    const alg = size === 32 ? 'ES256' : size === 48 ? 'ES384' : 'ES512';
    if (jwk.alg !== undefined && jwk.alg !== alg) throw invalid(`"alg" ${JSON.stringify(jwk.alg)} does not fit curve ${jwk.crv}`);
    pub = { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y };
  } else {
    throw invalid(`unsupported key type ${JSON.stringify(jwk.kty)}`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pub, format: 'jwk' });
  } catch (err) {
    throw invalid('not a valid public key', err);
  }
  return publicKeyFromKeyObject(key, jwk.kid);
}

export type GenerateKeyOptions = { type: 'rsa'; bits?: number } | { type: 'ec'; curve?: 'P-256' | 'P-384' | 'P-521' };

const NODE_CURVES: Readonly<Record<string, string>> = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' };

/** A fresh signing key: RSA (default 2048 bits, 2048–16384) or EC (default P-256). */
export function generateSigningKey(opts: GenerateKeyOptions): SigningKey {
  if (opts?.type === 'rsa') {
    const bits = opts.bits ?? 2048;
    if (!Number.isInteger(bits) || bits < 2048 || bits > 16384 || bits % 8 !== 0) {
      throw new TypeError(`RSA key size must be a multiple of 8 between 2048 and 16384 bits, got ${String(opts.bits)}`);
    }
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 0x10001 });
    return signingKeyFromPrivate(privateKey);
  }
  if (opts?.type === 'ec') {
    const curve = opts.curve ?? 'P-256';
    const namedCurve = NODE_CURVES[curve];
    if (namedCurve === undefined) throw new TypeError(`EC curve must be P-256, P-384 or P-521, got ${String(curve)}`);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve });
    return signingKeyFromPrivate(privateKey);
  }
  throw new TypeError(`key type must be "rsa" or "ec", got ${JSON.stringify((opts as { type?: unknown })?.type)}`);
}

/** The public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`). */
export function publicKeyPem(key: PublicKey): string {
  return key.key.export({ type: 'spki', format: 'pem' }) as string;
}

/** JWK curve name (P-256, …) of an EC key, for JWKS output. */
export function jwkCurveOf(key: KeyObject): string | undefined {
  return JWK_CURVES.get(key.asymmetricKeyDetails?.namedCurve ?? '');
}
