/**
 * node:http and Express (connect-style) middleware: verifies the request's token and puts the
 * identity on `req.identity`, or answers 401 (`WWW-Authenticate`) / 503 itself.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { VerificationError } from '../verify/errors.js';
import type { VerifiedIdentity } from '../verify/identity.js';
import { authenticate, rejection, type AuthOptions } from './auth.js';

declare module 'http' {
  interface IncomingMessage {
    /** Set by `@boundtoken/client`'s middleware: who the request's token belongs to. */
    identity?: VerifiedIdentity;
  }
}

/** Writes the 401/503 answer for a failed verification. */
export function sendRejection(res: ServerResponse, err: VerificationError, realm?: string): void {
  const r = rejection(err, realm);
  const body = JSON.stringify(r.body);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(r.statusCode, { ...r.headers, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

type Next = (err?: unknown) => void;

/**
 * Express / connect middleware:
 * `app.use(authMiddleware({ verifier }))`, then `req.identity` in the handlers.
 * Errors other than verification failures go to `next(err)`.
 */
export function authMiddleware(options: AuthOptions): (req: IncomingMessage, res: ServerResponse, next: Next) => void {
  check(options);
  return (req, res, next) => {
    authenticate(req.headers, options).then(
      (identity) => {
        req.identity = identity;
        next();
      },
      (err: unknown) => {
        if (err instanceof VerificationError) {
          options.onReject?.(err);
          sendRejection(res, err, options.realm);
        } else next(err);
      },
    );
  };
}

/**
 * Wraps a node:http request handler: `http.createServer(withAuth({ verifier }, (req, res) => …))`.
 * The handler runs only for verified requests, with `req.identity` set.
 */
export function withAuth(
  options: AuthOptions,
  handler: (req: IncomingMessage & { identity: VerifiedIdentity }, res: ServerResponse) => unknown,
): (req: IncomingMessage, res: ServerResponse) => void {
  const mw = authMiddleware(options);
  return (req, res) => {
    mw(req, res, (err) => {
      if (err !== undefined) {
        if (!res.headersSent) {
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end('internal error');
        } else res.destroy();
        return;
      }
      Promise.resolve()
        .then(() => handler(req as IncomingMessage & { identity: VerifiedIdentity }, res))
        .catch(() => {
          if (!res.headersSent) {
            res.writeHead(500, { 'Content-Type': 'text/plain' });
            res.end('internal error');
          } else res.destroy();
        });
    });
  };
}

export function check(options: AuthOptions): void {
  if (typeof options !== 'object' || options === null || typeof options.verifier?.verify !== 'function') {
    throw new TypeError('auth middleware: options.verifier must be a Verifier (see createVerifier)');
  }
  if (options.header !== undefined && (typeof options.header !== 'string' || !/^[A-Za-z0-9-]+$/.test(options.header))) {
    throw new TypeError('auth middleware: header must be an HTTP header name');
  }
}
