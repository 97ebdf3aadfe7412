/**
 * The receiving service, verifying online: each token goes to the API server as a TokenReview
 * (successes cached 10 s), so a token whose pod was deleted is refused within seconds.
 *
 *   KUBECONFIG     the API server and the identity to review with (which needs "create" on
 *                  tokenreviews, e.g. system:auth-delegator); unset in a pod: in-cluster config
 *   KUBE_CONTEXT   kubeconfig context (default: current-context)
 *   AUDIENCE       required audience (default istio-ca); TOKEN_HEADER: authorization (default) or x-auth-token
 *   HOST, PORT     where to listen (default 127.0.0.1:8080; PORT=0 picks a free port)
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createVerifier, withAuth } from '@boundtoken/client';

const kubeconfig = process.env.KUBECONFIG;
const verifier = createVerifier({
  mode: 'online',
  audiences: [process.env.AUDIENCE ?? 'istio-ca'],
  cluster: kubeconfig ? { kubeconfig, ...(process.env.KUBE_CONTEXT ? { context: process.env.KUBE_CONTEXT } : {}) } : 'in-cluster',
});

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
  console.log(`listening on http://${address}:${port}/ (online verification via TokenReview)`);
});
