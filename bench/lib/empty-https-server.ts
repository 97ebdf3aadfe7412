/**
 * The baseline of the server benchmarks: an empty HTTPS endpoint on a plain `node:https` server
 * with the API server's TLS setup (its serving certificate, client certificates requested and
 * checked against its CA, TLS ≥ 1.2, the same keep-alive timeout). It reads the request body and
 * answers 200 with a small JSON object — or, under `/payload`, with a given body (the same bytes
 * the server under test sends, to show what the transport alone costs for them). Runs as a child
 * process (see `startEmptyHttps` in `servers.ts`): it receives its setup over IPC and replies
 * with its port.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';

interface Setup {
  cert: string;
  key: string;
  clientCa: string;
  payload?: string;
}

const BODY = '{"kind":"Status","apiVersion":"v1","status":"Success"}';

process.once('message', (m) => {
  const { cert, key, clientCa, payload } = m as Setup;
  const payloadBytes = Buffer.from(payload ?? BODY);
  const server = https.createServer(
    { cert, key, ca: clientCa, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2', keepAliveTimeout: 90_000 },
    (req, res) => {
      req.on('data', () => undefined);
      req.on('end', () => {
        if (req.url?.startsWith('/payload')) {
          res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': payloadBytes.length });
          res.end(payloadBytes);
          return;
        }
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': BODY.length });
        res.end(BODY);
      });
    },
  );
  server.requestTimeout = 0;
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
  process.on('disconnect', () => process.exit(0));
});
