/**
 * Legacy (secret-based) service account tokens: issuer `kubernetes/serviceaccount`, flat claims,
 * no `aud`, `exp`, `iat` or `jti` (reference/k8s-server.md §1, §4; Kubernetes `legacy.go`).
 *
 * The verifier checks what needs no API objects: the signature (same key rules as bound tokens),
 * the issuer, the audiences (the implicit API audiences, since these tokens carry none) and the
 * presence and consistency of the claims, with Kubernetes' messages. Like Kubernetes it checks no
 * times. What needs objects stays with the server: the secret must still exist, must not be
 * labelled invalid, and its `data.token` must equal the token; the service account must exist with
 * the claimed UID.
 */
import { TokenError } from './errors.js';
import type { PublicKey } from './keys.js';
import { DEFAULT_MAX_TOKEN_BYTES, type DecodedToken } from './parse.js';
import { createJwsCore, intersectAudiences, type KeyResolver } from './verifier.js';
import { goQuote } from '@boundtoken/api';

export const LEGACY_ISSUER = 'kubernetes/serviceaccount';

export const LEGACY_CLAIM_NAMESPACE = 'kubernetes.io/serviceaccount/namespace';
export const LEGACY_CLAIM_SECRET_NAME = 'kubernetes.io/serviceaccount/secret.name';
export const LEGACY_CLAIM_SERVICE_ACCOUNT_NAME = 'kubernetes.io/serviceaccount/service-account.name';
export const LEGACY_CLAIM_SERVICE_ACCOUNT_UID = 'kubernetes.io/serviceaccount/service-account.uid';

export interface LegacyClaims {
  iss: string;
  sub: string;
  [LEGACY_CLAIM_NAMESPACE]: string;
  [LEGACY_CLAIM_SECRET_NAME]: string;
  [LEGACY_CLAIM_SERVICE_ACCOUNT_NAME]: string;
  [LEGACY_CLAIM_SERVICE_ACCOUNT_UID]: string;
}

export interface LegacyVerifierOptions {
  keys: PublicKey[] | KeyResolver;
  /** The API audiences: legacy tokens are valid for these only. Required, non-empty. */
  defaultAudiences: string[];
  maxTokenBytes?: number;
}

export interface VerifiedLegacyToken {
  header: DecodedToken['header'];
  claims: LegacyClaims & Record<string, unknown>;
  audiences: string[];
  serviceAccount: { namespace: string; name: string; uid: string };
  secretName: string;
}

export interface LegacyTokenVerifier {
  verify(token: string, audiences?: string[]): VerifiedLegacyToken;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** apiserver's `SplitUsername`: namespace and name of `system:serviceaccount:<ns>:<name>`, or undefined. */
export function splitServiceAccountUsername(username: string): { namespace: string; name: string } | undefined {
  const prefix = 'system:serviceaccount:';
  if (!username.startsWith(prefix)) return undefined;
  const parts = username.slice(prefix.length).split(':');
  if (parts.length !== 2) return undefined;
  const [namespace, name] = parts as [string, string];
  if (namespace.length > 63 || !DNS1123_LABEL.test(namespace)) return undefined;
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) return undefined;
  return { namespace, name };
}

function claimsError(message: string): TokenError {
  return new TokenError('ERR_TOKEN_CLAIMS_INVALID', message);
}

/** A claim as Go's decoder sees it: a string, "" when absent; any other type is an error. */
function stringClaim(c: Record<string, unknown>, name: string): string {
  const v = c[name];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw claimsError(`${name} claim must be a string`);
  return v;
}

export function createLegacyVerifier(options: LegacyVerifierOptions): LegacyTokenVerifier {
  if (typeof options !== 'object' || options === null) throw new TypeError('createLegacyVerifier: options must be an object');
  const defaults = options.defaultAudiences;
  if (!Array.isArray(defaults) || defaults.length === 0 || defaults.some((a) => typeof a !== 'string')) {
    throw new TypeError('defaultAudiences must be a non-empty array of strings (the API audiences)');
  }
  const implicit = [...defaults];
  const maxTokenBytes = options.maxTokenBytes ?? DEFAULT_MAX_TOKEN_BYTES;
  if (!Number.isInteger(maxTokenBytes) || maxTokenBytes < 1) throw new TypeError('maxTokenBytes must be a positive integer');
  const core = createJwsCore(options.keys, maxTokenBytes);

  return {
    verify(token: string, audiences?: string[]): VerifiedLegacyToken {
      const requested = audiences ?? implicit;
      if (!Array.isArray(requested) || requested.length === 0) throw new TypeError('verify: audiences must be a non-empty array');
      const { header, payload: c } = core.verifySignature(token);

      const iss = stringClaim(c, 'iss');
      if (iss !== LEGACY_ISSUER) throw new TokenError('ERR_TOKEN_ISSUER_INVALID', `token issuer ${goQuote(iss)} is invalid`);
      const auds = intersectAudiences(c.aud, implicit, requested);

      const sub = stringClaim(c, 'sub');
      if (sub === '') throw claimsError('sub claim is missing');
      const namespace = stringClaim(c, LEGACY_CLAIM_NAMESPACE);
      if (namespace === '') throw claimsError('namespace claim is missing');
      const secretName = stringClaim(c, LEGACY_CLAIM_SECRET_NAME);
      if (secretName === '') throw claimsError('secretName claim is missing');
      const name = stringClaim(c, LEGACY_CLAIM_SERVICE_ACCOUNT_NAME);
      if (name === '') throw claimsError('serviceAccountName claim is missing');
      const uid = stringClaim(c, LEGACY_CLAIM_SERVICE_ACCOUNT_UID);
      if (uid === '') throw claimsError('serviceAccountUID claim is missing');
      const subject = splitServiceAccountUsername(sub);
      if (!subject || subject.namespace !== namespace || subject.name !== name) throw claimsError('sub claim is invalid');

      return {
        header,
        claims: c as LegacyClaims & Record<string, unknown>,
        audiences: auds,
        serviceAccount: { namespace, name, uid },
        secretName,
      };
    },
  };
}

/** The claims Kubernetes' `LegacyClaims` puts in a secret-based token (keys sorted, ready to sign). */
export function buildLegacyClaims(input: {
  serviceAccount: { namespace: string; name: string; uid: string };
  secretName: string;
}): LegacyClaims {
  const { namespace, name, uid } = input.serviceAccount;
  return {
    iss: LEGACY_ISSUER,
    [LEGACY_CLAIM_NAMESPACE]: namespace,
    [LEGACY_CLAIM_SECRET_NAME]: input.secretName,
    [LEGACY_CLAIM_SERVICE_ACCOUNT_NAME]: name,
    [LEGACY_CLAIM_SERVICE_ACCOUNT_UID]: uid,
    sub: `system:serviceaccount:${namespace}:${name}`,
  };
}
