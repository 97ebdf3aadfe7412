/**
 * OIDC discovery for service account tokens (reference/k8s-server.md §6): the pre-rendered
 * `/.well-known/openid-configuration` and `/openid/v1/jwks` documents, or the reason they are not
 * served (a non-URL issuer such as `kubernetes.default.svc`, exactly as kube-apiserver behaves).
 */
import { discoveryJwksUri, JWKS_PATH, jwksDocument, OPENID_CONFIG_PATH, openIdConfiguration } from '@boundtoken/token';
import type { TokenConfig } from './config.js';

export interface OidcDocuments {
  /** Buffers, so the HTTP layer sends them with exactly the Content-Type it sets. */
  configuration: Buffer;
  jwks: Buffer;
}

export const OIDC_CACHE_CONTROL = 'public, max-age=3600';

/** Where the documents are served, each also with a trailing slash (kubernetes#117455). */
export const OIDC_CONFIGURATION_PATHS = [OPENID_CONFIG_PATH, `${OPENID_CONFIG_PATH}/`] as const;
export const OIDC_JWKS_PATHS = [JWKS_PATH, `${JWKS_PATH}/`] as const;

export function renderOidc(config: TokenConfig, externalAddress: string): { docs?: OidcDocuments; reason?: string } {
  try {
    const issuer = config.issuers[0]!;
    const jwksUri = discoveryJwksUri({ issuer, externalAddress, ...(config.jwksUri ? { jwksUri: config.jwksUri } : {}) });
    return {
      docs: {
        configuration: Buffer.from(openIdConfiguration({ issuer, jwksUri, keys: config.publicKeys })),
        jwks: Buffer.from(jwksDocument(config.publicKeys)),
      },
    };
  } catch (err) {
    return { reason: (err as Error).message };
  }
}
