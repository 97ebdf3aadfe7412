/**
 * The X-Auth-Token variant's server: takes the token from `X-Auth-Token` and asks the API server
 * (TokenReview, with the audience — unlike the original demo, which sent none) whether it is valid.
 * Set ISSUER instead of KUBECONFIG to verify offline.
 *
 *   KUBECONFIG (online; unset in a pod: in-cluster) or ISSUER (+ DISCOVERY_URL, CA_FILE) for offline
 *   AUDIENCE (default istio-ca), PORT (default 8081)
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createVerifier, withAuth } from '@boundtoken/client';

const audiences = [process.env.AUDIENCE ?? 'istio-ca'];
const verifier = process.env.ISSUER
  ? createVerifier({
      issuer: process.env.ISSUER,
      audiences,
      ...(process.env.DISCOVERY_URL ? { discoveryUrl: process.env.DISCOVERY_URL } : {}),
      ...(process.env.CA_FILE ? { fetch: { ca: readFileSync(process.env.CA_FILE) } } : {}),
    })
  : createVerifier({ mode: 'online', audiences, cluster: process.env.KUBECONFIG ? { kubeconfig: process.env.KUBECONFIG } : 'in-cluster' });

const server = http.createServer(
  withAuth({ verifier, header: 'x-auth-token', onReject: (err) => console.log(`rejected: ${err.code} ${err.reason}`) }, (req, res) => {
    res.end(`Hello ${req.identity.subject}\n`);
  }),
);
server.listen(Number(process.env.PORT ?? 8081), process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = server.address() as AddressInfo;
  console.log(`listening on http://${address}:${port}/ (X-Auth-Token, ${verifier.mode} verification)`);
});
