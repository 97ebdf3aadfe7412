/**
 * Signing helpers and a local OIDC issuer for verifier tests: tokens in the exact Kubernetes
 * format (the token library's claims builder and signer), and an HTTPS server that serves
 * `/.well-known/openid-configuration` and `/openid/v1/jwks` for a mutable set of keys.
 */
import {
  buildClaims,
  createSigner,
  generateSigningKey,
  jwksDocument,
  openIdConfiguration,
  type ClaimsInput,
  type SigningKey,
} from '@boundtoken/token';
import type { TestPki } from './pki.ts';
import { startHttpsServer, type TestServer } from './https-server.ts';

export const SA = { namespace: 'istio-system', name: 'aspen-mesh-metrics-collector', uid: 'sa-uid-1' };
export const POD = { name: 'collector-0', uid: 'pod-uid-1' };
export const NODE = { name: 'node-1', uid: 'node-uid-1' };

export function signToken(
  key: SigningKey,
  issuer: string,
  nowSeconds: number,
  over: Partial<ClaimsInput> = {},
): string {
  const claims = buildClaims(
    {
      issuer,
      audiences: ['istio-ca'],
      serviceAccount: SA,
      pod: POD,
      node: NODE,
      expirationSeconds: 3600,
      ...over,
    },
    nowSeconds,
  );
  return createSigner(key).sign(claims);
}

export interface TestIssuer {
  srv: TestServer;
  issuer: string;
  keys: SigningKey[];
  cacheControl: string | undefined;
  /** Requests per path. */
  hits: Record<string, number>;
  /** Answer the next requests for a path with this status instead. */
  fail: Record<string, number | undefined>;
  /** Require this bearer token on the discovery and JWKS endpoints. */
  requireToken: string | undefined;
  close(): Promise<void>;
}

let cachedKeys: { rsa: SigningKey; ec: SigningKey; ec2: SigningKey; rsa2: SigningKey } | undefined;
/** Keys generated once per test process (RSA generation is slow-ish). */
export function testKeys(): { rsa: SigningKey; ec: SigningKey; ec2: SigningKey; rsa2: SigningKey } {
  cachedKeys ??= {
    rsa: generateSigningKey({ type: 'rsa', bits: 2048 }),
    rsa2: generateSigningKey({ type: 'rsa', bits: 2048 }),
    ec: generateSigningKey({ type: 'ec', curve: 'P-256' }),
    ec2: generateSigningKey({ type: 'ec', curve: 'P-256' }),
  };
  return cachedKeys;
}

export async function startIssuer(pki: TestPki, keys: SigningKey[], jwksPath = '/openid/v1/jwks'): Promise<TestIssuer> {
  const srv = await startHttpsServer(pki);
  const state: TestIssuer = {
    srv,
    issuer: srv.url,
    keys,
    cacheControl: 'public, max-age=3600',
    hits: {},
    fail: {},
    requireToken: undefined,
    close: () => srv.close(),
  };
  srv.handle((req, res) => {
    const path = new URL(req.url!, 'https://x').pathname;
    state.hits[path] = (state.hits[path] ?? 0) + 1;
    const failing = state.fail[path];
    if (failing) {
      res.writeHead(failing, { 'Content-Type': 'text/plain' });
      res.end('failing on purpose');
      return;
    }
    if (state.requireToken && req.headers.authorization !== `Bearer ${state.requireToken}`) {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end('{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}');
      return;
    }
    const headers: Record<string, string> = {};
    if (state.cacheControl) headers['Cache-Control'] = state.cacheControl;
    if (path === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'Content-Type': 'application/json', ...headers });
      res.end(openIdConfiguration({ issuer: state.issuer, jwksUri: `${srv.url}${jwksPath}`, keys: state.keys }));
    } else if (path === jwksPath) {
      res.writeHead(200, { 'Content-Type': 'application/jwk-set+json', ...headers });
      res.end(jwksDocument(state.keys));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return state;
}
