/** `createVerifier`: offline (keys / JWKS / OIDC discovery) or online (TokenReview). */
import { createOfflineVerifier, type OfflineVerifierOptions } from './offline.js';
import { createOnlineVerifier, type OnlineVerifierOptions } from './online.js';
import type { Verifier } from './types.js';

export type VerifierOptions = OfflineVerifierOptions | OnlineVerifierOptions;

/**
 * A verifier of Kubernetes service account tokens.
 *
 * ```ts
 * // offline: OIDC discovery + JWKS of the issuer
 * const v = createVerifier({ issuer: 'https://kubernetes.default.svc', audiences: ['istio-ca'] });
 * // online: TokenReview through the API server (in-cluster config by default)
 * const v = createVerifier({ mode: 'online', audiences: ['istio-ca'] });
 * const who = await v.verify(token); // who.namespace, who.serviceAccount.name, who.pod?.name, …
 * ```
 */
export function createVerifier(options: VerifierOptions): Verifier {
  if (typeof options !== 'object' || options === null) throw new TypeError('createVerifier: options must be an object');
  if (options.mode === 'online') return createOnlineVerifier(options);
  if (options.mode !== undefined && options.mode !== 'offline') throw new TypeError(`createVerifier: unknown mode ${JSON.stringify(options.mode)}`);
  return createOfflineVerifier(options);
}
