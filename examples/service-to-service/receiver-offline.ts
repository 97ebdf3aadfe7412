/**
 * The receiving service, verifying offline: the issuer's OIDC discovery document and JWKS are
 * fetched once (and refreshed as their Cache-Control says); each request's token is checked
 * locally (signature, issuer, audience `istio-ca`, expiry). No call to the API server per request.
 *
 *   ISSUER         the cluster's service account issuer (required), e.g. https://kubernetes.default.svc.cluster.local
 *   DISCOVERY_URL  where to fetch discovery when the issuer URL is not reachable from here (e.g. https://127.0.0.1:6443)
 *   JWKS_URI       fetch this JWKS directly instead
 *   CA_FILE        CA bundle for those fetches (in a pod: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt)
 *   READER_TOKEN_FILE  bearer token for discovery (in a pod: its own service account token; the default when present)
 *   AUDIENCE       required audience (default istio-ca); TOKEN_HEADER: authorization (default) or x-auth-token
 *   HOST, PORT     where to listen (default 127.0.0.1:8080; PORT=0 picks a free port)
 */
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { TokenFile, createVerifier, withAuth, type FetchSettings } from '@boundtoken/client';

const issuer = process.env.ISSUER;
if (!issuer) throw new Error('set ISSUER to the service account issuer');
const saToken = '/var/run/secrets/kubernetes.io/serviceaccount/token';
const readerTokenPath = process.env.READER_TOKEN_FILE ?? (existsSync(saToken) ? saToken : undefined);
const readerToken = readerTokenPath ? await TokenFile.open(readerTokenPath) : undefined;

const fetch: FetchSettings = {};
if (process.env.CA_FILE) fetch.ca = readFileSync(process.env.CA_FILE);
if (readerToken) fetch.token = () => readerToken.token;

const verifier = createVerifier({
  issuer,
  audiences: [process.env.AUDIENCE ?? 'istio-ca'],
  fetch,
  ...(process.env.DISCOVERY_URL ? { discoveryUrl: process.env.DISCOVERY_URL } : {}),
  ...(process.env.JWKS_URI ? { jwksUri: process.env.JWKS_URI } : {}),
  onError: (err) => console.error(`key refresh failed (old keys still used): ${err.reason}`),
});
await verifier.ready(); // fail at start-up if the keys cannot be fetched

const server = http.createServer(
  withAuth(
    {
      verifier,
      header: process.env.TOKEN_HEADER ?? 'authorization',
      onReject: (err) => console.log(`rejected: ${err.code} ${err.reason}`),
    },
    (req, res) => {
      const who = req.identity;
      console.log(`accepted ${who.subject} (pod ${who.pod?.name ?? '-'}, token ${who.jti ?? '-'})`);
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ hello: who.serviceAccount.name, namespace: who.namespace, pod: who.pod?.name, verifiedBy: who.verifiedBy }));
    },
  ),
);
server.listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = server.address() as AddressInfo;
  console.log(`listening on http://${address}:${port}/ (offline verification, issuer ${issuer})`);
});
