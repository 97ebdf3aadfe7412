/**
 * The lean path: the hot API requests — GETs of objects and lists, and POSTs (TokenReview,
 * TokenRequest, creates) — go from the HTTP server's `request` event straight to the dispatch,
 * without Fastify's per-request work (routing, hooks, the content-type parser, reply
 * serialisation). Everything else, and anything unusual about a hot request (a body without a
 * Content-Length, an encoded path, an oversized URL, a server shutting down), goes to Fastify
 * untouched. Both paths run the same dispatch, handlers and error handler, and answer with the
 * same bytes: the lean reply writes the status, the headers in the order they were set (names
 * in lower case) and a Content-Length, as Fastify does.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiReply, ApiRequest } from './exchange.js';

export type Dispatch = (req: ApiRequest, reply: ApiReply) => Promise<unknown>;
export type ErrorHandler = (err: unknown, req: ApiRequest, reply: ApiReply) => unknown;
export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

export interface LeanOptions {
  dispatch: Dispatch;
  onError: ErrorHandler;
  /** Fastify's listener, for every request the lean path does not take. */
  fallback: RequestListener;
  /** Bodies larger than this go to Fastify (which answers 413 for them). */
  bodyLimit: number;
  /** Fastify routes paths up to this many characters after the first `/` (longer ones are its 404). */
  maxPathLength: number;
  /** True once the server is closing (Fastify answers 503 then). */
  closing: () => boolean;
}

class LeanReply implements ApiReply {
  private readonly headers: Record<string, string | string[]> = {};
  private hijacked = false;

  constructor(readonly raw: ServerResponse) {}

  get sent(): boolean {
    return this.hijacked || this.raw.headersSent;
  }

  code(statusCode: number): ApiReply {
    this.raw.statusCode = statusCode;
    return this;
  }

  header(name: string, value: string | string[]): ApiReply {
    this.headers[name.toLowerCase()] = value;
    return this;
  }

  send(payload: Buffer): ApiReply {
    const headers = this.headers;
    headers['content-type'] ??= 'application/octet-stream';
    headers['content-length'] = String(payload.length);
    this.raw.writeHead(this.raw.statusCode, headers);
    this.raw.end(payload);
    return this;
  }

  hijack(): void {
    this.hijacked = true;
  }
}

const SLASH = 0x2f;

/** The media types clients send bodies in, exactly as they send them (Fastify checks any other). */
const BODY_TYPES = new Set(['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf']);

/** Whether the lean path takes a request, and whether it has a body to read first. */
function route(req: IncomingMessage, o: LeanOptions): 'get' | 'body' | undefined {
  const url = req.url;
  if (url === undefined || url.charCodeAt(0) !== SLASH || url.length > o.maxPathLength + 1) return undefined;
  if (!url.startsWith('/api/') && !url.startsWith('/apis/')) return undefined;
  // percent-encoded paths and watches (a `watch` query parameter or the /watch/ prefix) take the general path
  if (url.includes('%') || url.includes('watch')) return undefined;
  if (req.method === 'GET') return 'get';
  if (req.method !== 'POST') return undefined;
  const h = req.headers;
  const length = h['content-length'];
  if (length === undefined || h['transfer-encoding'] !== undefined || !BODY_TYPES.has(h['content-type']!)) return undefined;
  const n = Number(length);
  if (!Number.isSafeInteger(n) || n < 0 || n > o.bodyLimit || String(n) !== length) return undefined;
  return 'body';
}

const DRAIN_LIMIT_FACTOR = 4;

/**
 * A body over the limit, but not absurdly so, is read to its end before Fastify answers 413 and
 * closes the connection: a client still writing it would otherwise see the connection reset
 * (EPIPE) instead of the answer. kube-apiserver reads a body up to its limit too.
 */
function drainFirst(req: IncomingMessage, o: LeanOptions): boolean {
  const n = Number(req.headers['content-length']);
  return n > o.bodyLimit && n <= DRAIN_LIMIT_FACTOR * o.bodyLimit;
}

function requestOf(req: IncomingMessage, body: Buffer | undefined): ApiRequest {
  return { method: req.method!, url: req.url!, headers: req.headers, socket: req.socket, body };
}

/** The server's `request` listener: the lean path for hot requests, Fastify for the rest. */
export function leanListener(o: LeanOptions): RequestListener {
  const run = (request: ApiRequest, reply: LeanReply): void => {
    o.dispatch(request, reply).catch((err: unknown) => {
      if (!reply.sent) o.onError(err, request, reply);
    });
  };
  return (req, res) => {
    const kind = o.closing() ? undefined : route(req, o);
    if (kind === undefined) {
      if (drainFirst(req, o)) {
        req.on('end', () => o.fallback(req, res));
        req.on('error', () => res.destroy());
        req.resume();
        return;
      }
      o.fallback(req, res);
      return;
    }
    const reply = new LeanReply(res);
    if (kind === 'get') {
      run(requestOf(req, undefined), reply);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    // a copy, as Fastify makes, rather than a view of the socket's read buffer
    req.on('end', () => run(requestOf(req, Buffer.concat(chunks)), reply));
    // a client that goes away mid-body gets no answer, as with Fastify
    req.on('error', () => res.destroy());
  };
}
