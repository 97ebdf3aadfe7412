/**
 * JSON Web Key Sets: the document Kubernetes serves at `/openid/v1/jwks` (byte for byte: go-jose's
 * field order `use, kty, kid, crv, alg, x, y, n, e`, public members only) and parsing of a fetched
 * JWKS for offline verification.
 */
import { KeyError } from './errors.js';
import { goJsonString } from './lib/go-json.js';
import { jwkCurveOf, publicKeyFromJwk, type PublicKey } from './keys.js';

function jwkJson(key: PublicKey): string {
  const jwk = key.key.export({ format: 'jwk' });
  const s = goJsonString;
  let out = `{"use":"sig","kty":${s(String(jwk.kty))},"kid":${s(key.kid)}`;
  if (jwk.kty === 'EC') {
    const crv = jwkCurveOf(key.key);
    if (crv === undefined) throw new KeyError('ERR_KEY_UNSUPPORTED', 'unknown private key curve, must be 256, 384, or 521');
    out += `,"crv":${s(crv)},"alg":${s(key.alg)},"x":${s(jwk.x!)},"y":${s(jwk.y!)}`;
  } else if (jwk.kty === 'RSA') {
    out += `,"alg":${s(key.alg)},"n":${s(jwk.n!)},"e":${s(jwk.e!)}`;
  } else {
    throw new KeyError('ERR_KEY_UNSUPPORTED', 'unknown public key type, must be *rsa.PublicKey, *ecdsa.PublicKey, or jose.OpaqueSigner');
  }
  return out + '}';
}

/** The JWKS Kubernetes serves for these keys, byte for byte (`{"keys":[…]}`, no trailing newline). */
export function jwksDocument(keys: PublicKey[]): string {
  if (!Array.isArray(keys)) throw new TypeError('jwksDocument: keys must be an array of PublicKey');
  return `{"keys":[${keys.map(jwkJson).join(',')}]}`;
}

/**
 * The usable verification keys of a JWKS (a JSON string or parsed object). Keys that cannot verify
 * Kubernetes tokens (other key types or curves, `use` other than `sig`, malformed members) are
 * skipped. Throws KeyError ERR_KEY_INVALID_JWK when the document itself is not a JWKS.
 */
export function parseJwks(json: string | object): PublicKey[] {
  let doc: unknown = json;
  if (typeof json === 'string') {
    try {
      doc = JSON.parse(json);
    } catch (err) {
      throw new KeyError('ERR_KEY_INVALID_JWK', 'JWKS is not valid JSON', { cause: err });
    }
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (typeof doc !== 'object' || doc === null || !Array.isArray(keys)) {
    throw new KeyError('ERR_KEY_INVALID_JWK', 'JWKS has no "keys" array');
  }
  const out: PublicKey[] = [];
  for (const jwk of keys) {
    if (typeof jwk !== 'object' || jwk === null) continue;
    try {
      out.push(publicKeyFromJwk(jwk));
    } catch (err) {
      if (!(err instanceof KeyError)) throw err;
    }
  }
  return out;
}
