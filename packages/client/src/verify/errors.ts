/**
 * `VerificationError`: why a token was not accepted, with a stable `code` and a human `reason`.
 * The token codes mirror `@boundtoken/token`'s; the rest say which part of verification could not
 * be done (discovery, JWKS, the TokenReview call) or that the token was absent.
 */
import { TokenError } from '@boundtoken/token';

export type VerifyErrorCode =
  /** No token in the request (or an empty string). */
  | 'ERR_TOKEN_MISSING'
  /** Not a compact JWS: wrong number of parts, bad base64url, header/payload not JSON objects. */
  | 'ERR_TOKEN_MALFORMED'
  /** Longer than the verifier's limit (64 KiB by default). */
  | 'ERR_TOKEN_TOO_LARGE'
  /** `alg` is none, HMAC, unknown, or not the one of the key. */
  | 'ERR_TOKEN_ALG_NOT_ALLOWED'
  /** The header `kid` is not in the key set (after one refetch of the JWKS). */
  | 'ERR_TOKEN_NO_MATCHING_KEY'
  /** No key verifies the signature. */
  | 'ERR_TOKEN_SIGNATURE_INVALID'
  /** `iss` is not an accepted issuer. */
  | 'ERR_TOKEN_ISSUER_INVALID'
  /** None of the required audiences is in the token (or confirmed by the TokenReview). */
  | 'ERR_TOKEN_AUDIENCE_INVALID'
  /** `exp` is more than the leeway (60 s) in the past. */
  | 'ERR_TOKEN_EXPIRED'
  /** `nbf` is more than the leeway in the future. */
  | 'ERR_TOKEN_NOT_YET_VALID'
  /** `iat` is more than the leeway in the future. */
  | 'ERR_TOKEN_ISSUED_IN_FUTURE'
  /** A claim is missing or has the wrong type (e.g. no `kubernetes.io` claims). */
  | 'ERR_TOKEN_CLAIMS_INVALID'
  /** The TokenReview answered `authenticated: false` (`reason` is the server's error string). */
  | 'ERR_TOKEN_NOT_AUTHENTICATED'
  /** The JWKS could not be fetched or has no usable key. */
  | 'ERR_JWKS_FETCH'
  /** The OIDC discovery document could not be fetched or does not fit the issuer. */
  | 'ERR_DISCOVERY'
  /** The TokenReview could not be made: API unreachable, timed out, 401/403, a malformed answer. */
  | 'ERR_REVIEW_FAILED';

const TOKEN_CODES: ReadonlySet<string> = new Set<VerifyErrorCode>([
  'ERR_TOKEN_MALFORMED',
  'ERR_TOKEN_TOO_LARGE',
  'ERR_TOKEN_ALG_NOT_ALLOWED',
  'ERR_TOKEN_NO_MATCHING_KEY',
  'ERR_TOKEN_SIGNATURE_INVALID',
  'ERR_TOKEN_ISSUER_INVALID',
  'ERR_TOKEN_AUDIENCE_INVALID',
  'ERR_TOKEN_EXPIRED',
  'ERR_TOKEN_NOT_YET_VALID',
  'ERR_TOKEN_ISSUED_IN_FUTURE',
  'ERR_TOKEN_CLAIMS_INVALID',
]);

export class VerificationError extends Error {
  readonly code: VerifyErrorCode;
  /** Why, in words (for logs and for `WWW-Authenticate`'s `error_description`). */
  readonly reason: string;

  constructor(code: VerifyErrorCode, reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = 'VerificationError';
    this.code = code;
    this.reason = reason;
  }

  /**
   * True when the fault is the verifier's (discovery, JWKS, TokenReview unavailable), not the
   * token's: the caller should answer 503, not 401.
   */
  get unavailable(): boolean {
    return this.code === 'ERR_JWKS_FETCH' || this.code === 'ERR_DISCOVERY' || this.code === 'ERR_REVIEW_FAILED';
  }
}

export function isVerificationError(err: unknown): err is VerificationError {
  return err instanceof VerificationError;
}

/** A token library error as the SDK's error (same code, its message as the reason). */
export function fromTokenError(err: TokenError): VerificationError {
  const code = TOKEN_CODES.has(err.code) ? (err.code as VerifyErrorCode) : 'ERR_TOKEN_CLAIMS_INVALID';
  return new VerificationError(code, err.message, { cause: err });
}

export function isTokenError(err: unknown): err is TokenError {
  return err instanceof TokenError;
}
