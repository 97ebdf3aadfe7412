/**
 * A test double of the API server's TokenReview endpoint (reference/k8s-server.md §4–§5): it
 * verifies with the token library, checks the bound pod against a "deleted" set, and answers
 * exactly as Kubernetes does (201, `authenticated` omitted with `error` on failure, user info with
 * the pod/node/credential-id extra on success). Its reviewer must present `reviewer-token`.
 */
import { createVerifier as createTokenVerifier, type SigningKey, type TokenClaims } from '@boundtoken/token';
import type { TestPki } from './pki.ts';
import { sendJson, startHttpsServer, statusBody, type TestServer } from './https-server.ts';

export interface ReviewServer {
  srv: TestServer;
  reviews: number;
  deletedPods: Set<string>;
  mode: 'normal' | 'hang' | 'no-status' | 'non-sa' | 'no-audiences';
  close(): Promise<void>;
}

export async function startReviewServer(pki: TestPki, keys: SigningKey[], issuer: string, now: () => number): Promise<ReviewServer> {
  const srv = await startHttpsServer(pki);
  const verifier = createTokenVerifier({ keys, issuers: [issuer], defaultAudiences: [issuer], now: () => now() / 1000 });
  const state: ReviewServer = { srv, reviews: 0, deletedPods: new Set(), mode: 'normal', close: () => srv.close() };
  srv.handle((req, res, body) => {
    if (req.method !== 'POST' || req.url !== '/apis/authentication.k8s.io/v1/tokenreviews') {
      sendJson(res, 404, statusBody(404, 'NotFound', 'the server could not find the requested resource'));
      return;
    }
    if (req.headers.authorization === 'Bearer unprivileged') {
      sendJson(res, 403, statusBody(403, 'Forbidden', 'tokenreviews.authentication.k8s.io is forbidden: User "system:serviceaccount:default:nobody" cannot create resource "tokenreviews" in API group "authentication.k8s.io" at the cluster scope'));
      return;
    }
    if (req.headers.authorization !== 'Bearer reviewer-token') {
      sendJson(res, 401, statusBody(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    state.reviews++;
    if (state.mode === 'hang') return;
    const tr = JSON.parse(body.toString()) as { spec: { token: string; audiences?: string[] } };
    const out = { kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null }, spec: tr.spec };
    if (state.mode === 'no-status') {
      sendJson(res, 201, out);
      return;
    }
    let status: Record<string, unknown>;
    try {
      const v = verifier.verify(tr.spec.token, tr.spec.audiences);
      const c = v.claims as TokenClaims;
      const k = c['kubernetes.io'];
      if (k.pod && state.deletedPods.has(k.pod.uid)) throw new Error('service account token has been invalidated');
      const extra: Record<string, string[]> = {};
      if (k.pod) {
        extra['authentication.kubernetes.io/pod-name'] = [k.pod.name];
        extra['authentication.kubernetes.io/pod-uid'] = [k.pod.uid];
      }
      if (k.node) {
        extra['authentication.kubernetes.io/node-name'] = [k.node.name];
        extra['authentication.kubernetes.io/node-uid'] = [k.node.uid];
      }
      if (c.jti) extra['authentication.kubernetes.io/credential-id'] = [`JTI=${c.jti}`];
      const username = state.mode === 'non-sa' ? 'alice' : c.sub;
      status = {
        authenticated: true,
        user: {
          username,
          uid: k.serviceaccount.uid,
          groups: ['system:serviceaccounts', `system:serviceaccounts:${k.namespace}`, 'system:authenticated'],
          extra,
        },
        ...(state.mode === 'no-audiences' ? {} : { audiences: v.audiences }),
      };
    } catch (err) {
      status = { user: {}, error: (err as Error).message };
    }
    sendJson(res, 201, { ...out, status });
  });
  return state;
}
