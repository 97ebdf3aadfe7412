/**
 * `VerificationError`: why a token was not accepted, with a stable `code` and a human `reason`.
 * The token codes mirror `@boundtoken/token`'s; the rest say which part of verification could not
 * be done (discovery, JWKS, the TokenReview call) or that the token was absent.
 */
import { TokenError, type TokenErrorCode } from '@boundtoken/token';

/** The token library's verification codes (it also has one for building claims, never seen here). */
type TokenVerifyCode = Exclude<TokenErrorCode, 'ERR_TOKEN_BINDING_INVALID'>;

/**
 * Each code is listed with its meaning in docs/sdk.md ("Errors"). For the token codes: an unknown
 * `kid` is ERR_TOKEN_NO_MATCHING_KEY after one refetch of the JWKS, and in online mode an audience
 * the TokenReview does not confirm is ERR_TOKEN_AUDIENCE_INVALID.
 */
export type VerifyErrorCode =
  | TokenVerifyCode
  /** No token in the request (or an empty string). */
  | 'ERR_TOKEN_MISSING'
  /** The TokenReview answered `authenticated: false` (`reason` is the server's error string). */
  | 'ERR_TOKEN_NOT_AUTHENTICATED'
  /** The JWKS could not be fetched or has no usable key. */
  | 'ERR_JWKS_FETCH'
  /** The OIDC discovery document could not be fetched or does not fit the issuer. */
  | 'ERR_DISCOVERY'
  /** The TokenReview could not be made: API unreachable, timed out, 401/403, a malformed answer. */
  | 'ERR_REVIEW_FAILED';

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
  const code: TokenVerifyCode = err.code === 'ERR_TOKEN_BINDING_INVALID' ? 'ERR_TOKEN_CLAIMS_INVALID' : err.code;
  return new VerificationError(code, err.message, { cause: err });
}

export function isTokenError(err: unknown): err is TokenError {
  return err instanceof TokenError;
}
