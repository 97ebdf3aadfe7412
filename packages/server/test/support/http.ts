/**
 * A small HTTPS client for the server tests: one keep-alive agent per identity (client
 * certificate, bearer token or nobody), whole-body responses, and watch streams read line by line.
 */
import { Agent, request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

export interface Identity {
  /** The CA that signed the server's certificate. */
  ca: string;
  /** A client certificate and its key (PEM). */
  cert?: string;
  key?: string;
  /** A bearer token. */
  token?: string;
}

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  /** The body parsed as JSON (throws with the text when it is not JSON). */
  json<T = any>(): T; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface RequestOptions {
  /** An object (sent as JSON), a string or a Buffer (sent as is). */
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string | string[]>;
}

export interface WatchEvent {
  type: string;
  object: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface WatchStream {
  status: number;
  headers: IncomingHttpHeaders;
  /** The next event; rejects after `timeoutMs` without one. */
  next(timeoutMs?: number): Promise<WatchEvent>;
  /** Resolves with the events that arrive within `ms` (to show that nothing else comes). */
  drain(ms: number): Promise<WatchEvent[]>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

function toResponse(res: IncomingMessage, body: Buffer): Response {
  const text = body.toString('utf8');
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    body,
    text,
    json() {
      try {
        return JSON.parse(text);
      } catch {
        throw new Error(`not JSON (HTTP ${res.statusCode}): ${text.slice(0, 500)}`);
      }
    },
  };
}

export class Client {
  private readonly agent: Agent;

  constructor(
    readonly baseUrl: string,
    private readonly identity: Identity,
    private readonly defaultHeaders: Record<string, string | string[]> = {},
    agent?: Agent,
  ) {
    this.agent =
      agent ??
      new Agent({
        ca: identity.ca,
        ...(identity.cert ? { cert: identity.cert, key: identity.key } : {}),
        keepAlive: true,
        maxSockets: 16,
      });
  }

  /** A client with the same credentials that also sends these headers (impersonation …). */
  with(headers: Record<string, string | string[]>): Client {
    return new Client(this.baseUrl, this.identity, { ...this.defaultHeaders, ...headers }, this.agent);
  }

  private prepare(method: string, path: string, opts: RequestOptions): { options: object; payload: Buffer | undefined } {
    const url = new URL(path, this.baseUrl);
    const headers: Record<string, string | string[]> = { accept: 'application/json', ...this.defaultHeaders, ...(opts.headers ?? {}) };
    if (this.identity.token !== undefined) headers.authorization = `Bearer ${this.identity.token}`;
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      if (Buffer.isBuffer(opts.body)) payload = opts.body;
      else if (typeof opts.body === 'string') payload = Buffer.from(opts.body);
      else payload = Buffer.from(JSON.stringify(opts.body));
      headers['content-type'] = opts.contentType ?? 'application/json';
      headers['content-length'] = String(payload.length);
    }
    return {
      options: { method, hostname: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, headers, agent: this.agent },
      payload,
    };
  }

  request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const { options, payload } = this.prepare(method, path, opts);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(toResponse(res, Buffer.concat(chunks))));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  get(path: string, headers?: Record<string, string>): Promise<Response> {
    return this.request('GET', path, headers ? { headers } : {});
  }

  post(path: string, body: unknown, opts: Omit<RequestOptions, 'body'> = {}): Promise<Response> {
    return this.request('POST', path, { ...opts, body });
  }

  put(path: string, body: unknown, opts: Omit<RequestOptions, 'body'> = {}): Promise<Response> {
    return this.request('PUT', path, { ...opts, body });
  }

  patch(path: string, body: unknown, contentType: string, headers?: Record<string, string>): Promise<Response> {
    return this.request('PATCH', path, { body, contentType, ...(headers ? { headers } : {}) });
  }

  delete(path: string, body?: unknown): Promise<Response> {
    return this.request('DELETE', path, body === undefined ? {} : { body });
  }

  /** Opens a watch (the path carries `watch=1`); resolves once the response headers are in. */
  watch(path: string, headers: Record<string, string> = {}): Promise<WatchStream> {
    const { options } = this.prepare('GET', path, { headers });
    return new Promise((resolve, reject) => {
      const req = httpsRequest({ ...options, agent: false, ca: this.identity.ca, cert: this.identity.cert, key: this.identity.key }, (res) => {
        const events: WatchEvent[] = [];
        const waiting: ((e: WatchEvent | Error) => void)[] = [];
        let buffered = '';
        let endedResolve!: () => void;
        const ended = new Promise<void>((r) => (endedResolve = r));
        const push = (e: WatchEvent): void => {
          const w = waiting.shift();
          if (w) w(e);
          else events.push(e);
        };
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            if (line.trim() !== '') push(JSON.parse(line) as WatchEvent);
          }
        });
        const finish = (): void => {
          endedResolve();
          for (const w of waiting.splice(0)) w(new Error('watch ended'));
        };
        res.on('end', finish);
        res.on('close', finish);
        res.on('error', finish);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          ended,
          next(timeoutMs = 5000) {
            const e = events.shift();
            if (e) return Promise.resolve(e);
            return new Promise<WatchEvent>((ok, fail) => {
              const timer = setTimeout(() => {
                const i = waiting.indexOf(handler);
                if (i >= 0) waiting.splice(i, 1);
                fail(new Error(`no watch event within ${timeoutMs} ms`));
              }, timeoutMs);
              const handler = (v: WatchEvent | Error): void => {
                clearTimeout(timer);
                if (v instanceof Error) fail(v);
                else ok(v);
              };
              waiting.push(handler);
            });
          },
          async drain(ms) {
            await new Promise((r) => setTimeout(r, ms));
            return events.splice(0);
          },
          close() {
            req.destroy();
            res.destroy();
          },
        });
      });
      req.on('error', reject);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
