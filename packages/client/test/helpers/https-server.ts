/** A real HTTPS server on a random loopback port, with a swappable handler, for tests. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { TestPki } from './pki.js';

export type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>;

export interface TestServer {
  url: string;
  port: number;
  server: https.Server;
  /** Requests seen, in order. */
  requests: { method: string; url: string; headers: IncomingMessage['headers']; body: Buffer; clientCN?: string }[];
  handle(handler: Handler): void;
  close(): Promise<void>;
}

export async function startHttpsServer(pki: TestPki, opts: { requestCert?: boolean } = {}): Promise<TestServer> {
  let handler: Handler = (_req, res) => {
    res.statusCode = 404;
    res.end();
  };
  const requests: TestServer['requests'] = [];
  const server = https.createServer(
    {
      cert: pki.serverCert,
      key: pki.serverKey,
      ca: pki.caCert,
      requestCert: opts.requestCert ?? false,
      rejectUnauthorized: false,
    },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const socket = req.socket as TLSSocket;
        const peer = socket.getPeerCertificate?.();
        const clientCN = peer && 'subject' in peer && peer.subject ? (peer.subject.CN as string | undefined) : undefined;
        requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, ...(clientCN ? { clientCN } : {}) });
        Promise.resolve(handler(req, res, body)).catch((err: unknown) => {
          res.statusCode = 500;
          res.end(String(err));
        });
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    server,
    requests,
    handle(h) {
      handler = h;
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data), ...headers });
  res.end(data);
}

export function statusBody(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}
