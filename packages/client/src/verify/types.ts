import type { VerifiedIdentity } from './identity.js';

export interface VerifyOptions {
  /** Audiences required for this call instead of the verifier's (at least one must match). */
  audiences?: string[];
}

/** What `createVerifier` returns, in either mode. */
export interface Verifier {
  readonly mode: 'offline' | 'online';
  /**
   * Verifies a token. Resolves with who it belongs to; rejects with `VerificationError` (a stable
   * `code` and a `reason`): `ERR_TOKEN_MISSING` for `undefined`/`null` (an absent header),
   * `ERR_TOKEN_MALFORMED` for an empty string. Misuse (empty audiences) throws `TypeError`.
   */
  verify(token: string | undefined | null, options?: VerifyOptions): Promise<VerifiedIdentity>;
  /** Fetches what verification needs now (offline: discovery + JWKS), to fail fast at start-up. */
  ready(): Promise<void>;
  /** Releases sockets. */
  close(): void;
}
