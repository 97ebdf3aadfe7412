/**
 * Incoming-request authentication shared by the node:http/Express middleware and the Fastify
 * plugin: where the token is (default `Authorization: Bearer`, or a header such as
 * `X-Auth-Token`), verifying it, and the 401/503 answer (RFC 6750 `WWW-Authenticate`).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { VerificationError } from '../verify/errors.js';
import type { VerifiedIdentity } from '../verify/identity.js';
import type { Verifier } from '../verify/types.js';

export interface AuthOptions {
  verifier: Verifier;
  /**
   * The header that carries the token (default `authorization`, which must use the `Bearer`
   * scheme). Any other header (e.g. `x-auth-token`) carries the bare token; a `Bearer ` prefix
   * there is accepted too.
   */
  header?: string;
  /** Audiences the token must carry (default: the verifier's). */
  audiences?: string[];
  /** `realm` of the `WWW-Authenticate` challenge. */
  realm?: string;
  /** Called with every rejection (for logging); the answer is sent either way. */
  onReject?: (err: VerificationError) => void;
}

/** The token in `headers`, or a VerificationError (`ERR_TOKEN_MISSING`) saying what is missing. */
export function tokenFromHeaders(headers: IncomingHttpHeaders, header = 'authorization'): string | VerificationError {
  const name = header.toLowerCase();
  const raw = headers[name];
  const value = (Array.isArray(raw) ? raw.join(', ') : raw)?.trim();
  if (!value) return new VerificationError('ERR_TOKEN_MISSING', `no token in the ${displayName(name)} header`);
  const m = /^bearer\s+(.*)$/is.exec(value);
  if (name === 'authorization') {
    if (!m) return new VerificationError('ERR_TOKEN_MISSING', 'the Authorization header does not use the Bearer scheme');
    const token = m[1]!.trim();
    return token ? token : new VerificationError('ERR_TOKEN_MISSING', 'the Authorization header has an empty Bearer token');
  }
  return m ? m[1]!.trim() : value;
}

/** Verifies the request's token; resolves with the identity or rejects with VerificationError. */
export async function authenticate(headers: IncomingHttpHeaders, options: AuthOptions): Promise<VerifiedIdentity> {
  const token = tokenFromHeaders(headers, options.header);
  if (token instanceof VerificationError) throw token;
  return options.verifier.verify(token, options.audiences ? { audiences: options.audiences } : undefined);
}

export interface Rejection {
  statusCode: 401 | 503;
  headers: Record<string, string>;
  body: { error: string; error_description: string; code: string };
}

/**
 * The answer to a failed verification: 401 with a `WWW-Authenticate: Bearer` challenge
 * (`error="invalid_token"` and the reason; no error for a missing token, per RFC 6750 §3.1), or
 * 503 when the verifier could not do its job (JWKS, discovery or TokenReview unavailable).
 */
export function rejection(err: VerificationError, realm?: string): Rejection {
  const body = { error: 'invalid_token', error_description: err.reason, code: err.code };
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };
  if (err.unavailable) {
    return { statusCode: 503, headers: { ...headers, 'Retry-After': '1' }, body: { ...body, error: 'temporarily_unavailable' } };
  }
  const params: string[] = [];
  if (realm !== undefined) params.push(`realm="${quoted(realm)}"`);
  if (err.code !== 'ERR_TOKEN_MISSING') {
    params.push('error="invalid_token"', `error_description="${quoted(err.reason)}"`);
  } else {
    body.error = 'invalid_request';
  }
  headers['WWW-Authenticate'] = params.length ? `Bearer ${params.join(', ')}` : 'Bearer';
  return { statusCode: 401, headers, body };
}

/** RFC 6750 error_description: printable ASCII without `"` and `\`, and kept short. */
function quoted(s: string): string {
  return s
    .replace(/["\\]/g, "'")
    .replace(/[^\x20-\x7e]/g, '?')
    .slice(0, 300);
}

function displayName(lower: string): string {
  return lower.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}
