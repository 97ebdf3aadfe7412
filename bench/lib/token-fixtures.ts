/**
 * The token API requests the benchmarks send: a node's TokenRequest for its pod's service
 * account (what the agent sends for a kube-api-access volume), TokenReview bodies, and distinct
 * pod-bound tokens minted with the server's own key (uncached reviews need a new token each).
 */
import { availableParallelism } from 'node:os';
import { buildClaims, createSigningPool, type SigningKey, type TokenClaims } from '@boundtoken/token';
import { NAMESPACE, POD, SERVICE_ACCOUNT, type Workload } from './fixtures.js';

export const TOKEN_PATH = `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/${SERVICE_ACCOUNT}/token`;
export const REVIEW_PATH = '/apis/authentication.k8s.io/v1/tokenreviews';

/** The API audiences, 3607 s, bound to the pod (what the agent asks for). */
export function tokenRequestBody(w: Workload): string {
  return JSON.stringify({
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: 3607, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: POD, uid: w.podUid } },
  });
}

export function reviewBody(token: string): string {
  return `{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"${token}"}}`;
}

export function claimsOf(token: string): TokenClaims {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as TokenClaims;
}

/** `n` distinct tokens with the claims of `like` (issued now), signed with `key` on all cores. */
export async function mintTokensLike(like: string, key: SigningKey, n: number): Promise<string[]> {
  const c = claimsOf(like);
  const k = c['kubernetes.io'];
  const pool = createSigningPool(key, { size: availableParallelism() });
  try {
    const now = Math.floor(Date.now() / 1000);
    const claims = () =>
      buildClaims(
        {
          issuer: c.iss,
          audiences: c.aud ?? [],
          serviceAccount: { namespace: k.namespace, name: k.serviceaccount.name, uid: k.serviceaccount.uid },
          pod: k.pod!,
          node: k.node!,
          expirationSeconds: c.exp - c.iat,
          ...(k.warnafter ? { warnAfterSeconds: k.warnafter - c.iat } : {}),
        },
        now,
      );
    return await Promise.all(Array.from({ length: n }, () => pool.sign(claims())));
  } finally {
    await pool.close();
  }
}
