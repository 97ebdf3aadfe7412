/**
 * Errors of the token library. Each has a stable `code` from a closed union; where Kubernetes
 * (or the go-jose library it uses) prints a message for the same failure, the message is that
 * text, so it can be passed on unchanged (e.g. into a TokenReview's `status.error`).
 * Caller misuse (wrong argument types, impossible options) throws a plain `TypeError` instead.
 */

export type TokenErrorCode =
  /** Not a compact JWS: wrong number of parts, bad base64url, header/payload not JSON objects, … */
  | 'ERR_TOKEN_MALFORMED'
  /** Longer than the verifier's `maxTokenBytes` (checked before anything else). */
  | 'ERR_TOKEN_TOO_LARGE'
  /** `alg` is none, HMAC, unknown, or not one the selected key(s) can verify. */
  | 'ERR_TOKEN_ALG_NOT_ALLOWED'
  /** The header `kid` matches none of the verification keys (`invalid signature, no keys found`). */
  | 'ERR_TOKEN_NO_MATCHING_KEY'
  /** No candidate key verifies the signature. */
  | 'ERR_TOKEN_SIGNATURE_INVALID'
  /** `iss` is missing or not an accepted issuer (`token issuer "x" is invalid`). */
  | 'ERR_TOKEN_ISSUER_INVALID'
  /** No requested audience is among the token's (`token audiences [...] is invalid for the target audiences [...]`). */
  | 'ERR_TOKEN_AUDIENCE_INVALID'
  /** `exp` is more than the leeway in the past (`service account token has expired`). */
  | 'ERR_TOKEN_EXPIRED'
  /** `nbf` is more than the leeway in the future (`service account token is not valid yet`). */
  | 'ERR_TOKEN_NOT_YET_VALID'
  /** `iat` is more than the leeway in the future (`service account token is issued in the future`). */
  | 'ERR_TOKEN_ISSUED_IN_FUTURE'
  /** A claim has the wrong type or a required claim is missing (incl. the legacy token checks). */
  | 'ERR_TOKEN_CLAIMS_INVALID'
  /** buildClaims: a binding Kubernetes refuses (secret together with pod/node, node binding disabled). */
  | 'ERR_TOKEN_BINDING_INVALID';

export class TokenError extends Error {
  readonly code: TokenErrorCode;

  constructor(code: TokenErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TokenError';
    this.code = code;
  }
}

export type KeyErrorCode =
  /** No usable private key block (`data does not contain a valid RSA or ECDSA private key`). */
  | 'ERR_KEY_NO_PRIVATE_KEY'
  /** No usable public key block (`data does not contain any valid RSA or ECDSA public keys`). */
  | 'ERR_KEY_NO_PUBLIC_KEYS'
  /** A key Kubernetes parses but cannot sign or serve with (P-224, Ed25519, X25519, …). */
  | 'ERR_KEY_UNSUPPORTED'
  /** A JWK that is not a usable RSA or EC public key. */
  | 'ERR_KEY_INVALID_JWK';

export class KeyError extends Error {
  readonly code: KeyErrorCode;

  constructor(code: KeyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeyError';
    this.code = code;
  }
}

export type DiscoveryErrorCode =
  /** The issuer or JWKS URI cannot be served as OIDC discovery (Kubernetes then skips the endpoints). */
  'ERR_DISCOVERY_INVALID';

/** Raised by the OIDC discovery helpers; Kubernetes logs these and does not install the endpoints. */
export class DiscoveryError extends Error {
  readonly code: DiscoveryErrorCode;

  constructor(code: DiscoveryErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DiscoveryError';
    this.code = code;
  }
}
