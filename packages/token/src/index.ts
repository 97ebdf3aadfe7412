/**
 * @boundtoken/token — Kubernetes service account tokens: key loading (client-go keyutil rules),
 * `kid`, claims, signing (inline and in a worker pool), verification, JWKS and OIDC discovery.
 */
export {
  TokenError,
  KeyError,
  DiscoveryError,
  type TokenErrorCode,
  type KeyErrorCode,
  type DiscoveryErrorCode,
} from './errors.js';
export {
  loadSigningKey,
  loadPublicKeys,
  keyIdOf,
  publicKeyFromJwk,
  publicKeyFromKeyObject,
  publicKeyPem,
  generateSigningKey,
  NO_PRIVATE_KEY_MESSAGE,
  NO_PUBLIC_KEYS_MESSAGE,
  type PublicKey,
  type SigningKey,
  type SigningAlgorithm,
  type GenerateKeyOptions,
} from './keys.js';
export type { VerificationAlgorithm } from './lib/algorithms.js';
export {
  buildClaims,
  serializeClaims,
  serviceAccountUsername,
  serviceAccountGroups,
  serviceAccountExtras,
  SERVICE_ACCOUNT_USERNAME_PREFIX,
  SERVICE_ACCOUNTS_GROUP,
  EXTRA_CREDENTIAL_ID,
  EXTRA_NODE_NAME,
  EXTRA_NODE_UID,
  EXTRA_POD_NAME,
  EXTRA_POD_UID,
  type ObjectRef,
  type ClaimsInput,
  type KubernetesClaims,
  type TokenClaims,
} from './claims.js';
export { createSigner, type TokenSigner } from './signer.js';
export { createSigningPool, type SigningPool, type SigningPoolOptions } from './pool.js';
export { decodeToken, peekIssuer, DEFAULT_MAX_TOKEN_BYTES, type DecodedToken, type JwsHeader } from './parse.js';
export {
  createVerifier,
  type KeyResolver,
  type VerifierOptions,
  type VerifiedToken,
  type TokenVerifier,
} from './verifier.js';
export {
  createLegacyVerifier,
  buildLegacyClaims,
  splitServiceAccountUsername,
  LEGACY_ISSUER,
  LEGACY_CLAIM_NAMESPACE,
  LEGACY_CLAIM_SECRET_NAME,
  LEGACY_CLAIM_SERVICE_ACCOUNT_NAME,
  LEGACY_CLAIM_SERVICE_ACCOUNT_UID,
  type LegacyClaims,
  type LegacyVerifierOptions,
  type VerifiedLegacyToken,
  type LegacyTokenVerifier,
} from './legacy.js';
export { jwksDocument, parseJwks } from './jwks.js';
export { openIdConfiguration, discoveryJwksUri, OPENID_CONFIG_PATH, JWKS_PATH } from './oidc.js';
export { goParseUrl, type GoUrl } from './lib/go-url.js';
