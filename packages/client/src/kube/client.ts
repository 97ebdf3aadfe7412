/**
 * The small Kubernetes API client: JSON over HTTP(S) with a keep-alive agent, client certificates or
 * a (rotating) bearer token, per-request deadlines, `Status` errors as `ApiError`, and watch streams.
 */
import http from 'node:http';
import https from 'node:https';
import { StringDecoder } from 'node:string_decoder';
import type { Status, WatchEvent, WatchEventType } from '@boundtoken/api';
import { ApiError } from './errors.js';
import type {
  ApiResponse,
  ClusterConnection,
  KubeClientShape,
  PatchType,
  RequestOptions,
  WatchHandle,
  WatchOptions,
} from './types.js';

/** What `createKubeClient` returns (the contract in `types.ts`). */
export type KubeClient = KubeClientShape;

export interface KubeClientOptions {
  /** `User-Agent` header (default `boundtoken-client/0.1.0 (node)`). */
  userAgent?: string;
  /** Default per-request deadline in milliseconds (default 30 000). */
  timeoutMs?: number;
  /**
   * Called with the text of each `Warning` response header (`299 - "text"`), for example
   * `requested expiration of 86400 seconds shortened to 3600 seconds`. Default: ignored; the raw
   * header stays in `ApiResponse.headers.warning` either way.
   */
  onWarning?: (warning: string, request: { method: string; path: string }) => void;
  /** Largest response body read into memory (default 64 MiB); larger is `ERR_API_RESPONSE`. */
  maxResponseBytes?: number;
  /** Keep-alive sockets per host (default 32). */
  maxSockets?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
const MAX_WATCH_LINE_BYTES = 16 * 1024 * 1024;
const WATCH_EVENT_TYPES: ReadonlySet<string> = new Set<WatchEventType>(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

type RawOptions = RequestOptions & { contentType?: string };

export function createKubeClient(connection: ClusterConnection, options: KubeClientOptions = {}): KubeClient {
  const base = parseServer(connection.server);
  const secure = base.protocol === 'https:';
  const agentOptions: https.AgentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 32 };
  if (secure) {
    if (connection.ca !== undefined) agentOptions.ca = connection.ca;
    if (connection.clientCert !== undefined) agentOptions.cert = connection.clientCert;
    if (connection.clientKey !== undefined) agentOptions.key = connection.clientKey;
    if (connection.insecureSkipTLSVerify) agentOptions.rejectUnauthorized = false;
    if (connection.tlsServerName) agentOptions.servername = connection.tlsServerName;
  }
  const agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  const transport = secure ? https : http;
  const userAgent = options.userAgent ?? 'boundtoken-client/0.1.0 (node)';
  const defaultTimeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const basePath = base.pathname.replace(/\/+$/, '');

  function headersFor(extra: Record<string, string> | undefined, contentType?: string): Record<string, string> {
    const h: Record<string, string> = { Accept: 'application/json', 'User-Agent': userAgent };
    const token = typeof connection.token === 'function' ? connection.token() : connection.token;
    if (token) h.Authorization = `Bearer ${token}`;
    if (contentType) h['Content-Type'] = contentType;
    return { ...h, ...extra };
  }

  function open(method: string, path: string, opts: RawOptions, payload: Buffer | undefined): http.ClientRequest {
    const reqOptions: https.RequestOptions = {
      agent,
      protocol: base.protocol,
      hostname: base.hostname.replace(/^\[|\]$/g, ''),
      port: base.port || (secure ? 443 : 80),
      method,
      path: basePath + withQuery(path, opts.query),
      headers: headersFor(opts.headers, payload ? opts.contentType : undefined),
    };
    if (secure && connection.tlsServerName) reqOptions.servername = connection.tlsServerName;
    const req = transport.request(reqOptions);
    if (payload) req.setHeader('Content-Length', payload.length);
    return req;
  }

  function surfaceWarnings(res: http.IncomingMessage, method: string, path: string): void {
    if (!options.onWarning) return;
    for (let i = 0; i < res.rawHeaders.length; i += 2) {
      if (res.rawHeaders[i]!.toLowerCase() !== 'warning') continue;
      for (const text of parseWarningHeader(res.rawHeaders[i + 1]!)) options.onWarning(text, { method, path });
    }
  }

  function request<T = unknown>(method: string, path: string, body?: unknown, opts: RawOptions = {}): Promise<ApiResponse<T>> {
    let payload: Buffer | undefined;
    let contentType = opts.contentType;
    if (body !== undefined) {
      if ((typeof body === 'string' || Buffer.isBuffer(body)) && contentType) payload = Buffer.from(body);
      else {
        payload = Buffer.from(JSON.stringify(body));
        contentType ??= 'application/json';
      }
    }
    return new Promise<ApiResponse<T>>((resolve, reject) => {
      const signal = opts.signal;
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      let req: http.ClientRequest;
      try {
        req = open(method, path, { ...opts, contentType }, payload);
      } catch (err) {
        reject(new ApiError('ERR_API_CONNECTION', `${method} ${path}: ${(err as Error).message}`, { cause: err }));
        return;
      }
      let settled = false;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const timeoutMs = opts.timeoutMs ?? defaultTimeout;
      const timer = setTimeout(() => {
        const err = new ApiError('ERR_API_TIMEOUT', `${method} ${path}: no answer from ${connection.server} within ${timeoutMs} ms`);
        finish(() => reject(err));
        req.destroy(err);
      }, timeoutMs);
      const onAbort = (): void => {
        finish(() => reject(signal!.reason));
        req.destroy();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err) => {
        finish(() => reject(connectionError(method, path, connection.server, err)));
      });
      req.on('response', (res) => {
        surfaceWarnings(res, method, path);
        readBody(res, maxBytes)
          .then((raw) => {
            const statusCode = res.statusCode ?? 0;
            const headers = res.headers as Record<string, string | string[] | undefined>;
            if (statusCode < 200 || statusCode > 299) {
              finish(() => reject(statusError(method, path, statusCode, raw)));
              return;
            }
            let parsed: unknown;
            try {
              parsed = decodeBody(raw, res.headers['content-type']);
            } catch (err) {
              finish(() =>
                reject(new ApiError('ERR_API_RESPONSE', `${method} ${path}: response is not valid JSON`, { statusCode, cause: err })),
              );
              return;
            }
            finish(() => resolve({ statusCode, headers, body: parsed as T }));
          })
          .catch((err: unknown) => {
            finish(() =>
              reject(
                err instanceof ApiError ? err : connectionError(method, path, connection.server, err as Error),
              ),
            );
          });
      });
      req.end(payload);
    });
  }

  function watch(path: string, opts: WatchOptions): WatchHandle {
    const query = { watch: 1, ...opts.query };
    let stopped = false;
    let closed = false;
    let req: http.ClientRequest | undefined;
    const close = (err?: Error): void => {
      if (closed || stopped) return;
      closed = true;
      clearTimeout(timer);
      req?.destroy();
      opts.signal?.removeEventListener('abort', onAbort);
      opts.onClose(err);
    };
    const onAbort = (): void => close(opts.signal!.reason as Error);
    const timeoutMs = opts.timeoutMs ?? defaultTimeout;
    const timer = setTimeout(() => {
      close(new ApiError('ERR_API_TIMEOUT', `watch ${path}: no answer from ${connection.server} within ${timeoutMs} ms`));
    }, timeoutMs);
    if (opts.signal?.aborted) {
      queueMicrotask(onAbort);
      return { stop: () => void (stopped = true) };
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      req = open('GET', path, { ...opts, query }, undefined);
    } catch (err) {
      queueMicrotask(() => close(new ApiError('ERR_API_CONNECTION', `watch ${path}: ${(err as Error).message}`, { cause: err })));
      return { stop: () => void (stopped = true) };
    }
    req.on('error', (err) => close(connectionError('GET', path, connection.server, err)));
    req.on('response', (res) => {
      clearTimeout(timer);
      surfaceWarnings(res, 'GET', path);
      const statusCode = res.statusCode ?? 0;
      if (statusCode < 200 || statusCode > 299) {
        readBody(res, maxBytes).then(
          (raw) => close(statusError('GET', path, statusCode, raw)),
          (err: unknown) => close(err as Error),
        );
        return;
      }
      const decoder = new StringDecoder('utf8');
      let pending = '';
      const deliver = (line: string): boolean => {
        if (line.trim() === '') return true;
        let event: unknown;
        try {
          event = JSON.parse(line);
        } catch (err) {
          close(new ApiError('ERR_API_RESPONSE', `watch ${path}: event is not valid JSON`, { statusCode, cause: err }));
          return false;
        }
        if (!isWatchEvent(event)) {
          close(new ApiError('ERR_API_RESPONSE', `watch ${path}: not a watch event: ${line.slice(0, 200)}`, { statusCode }));
          return false;
        }
        opts.onEvent(event);
        return !closed && !stopped;
      };
      res.on('data', (chunk: Buffer) => {
        if (closed || stopped) return;
        pending += decoder.write(chunk);
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          if (!deliver(line)) return;
        }
        if (pending.length > MAX_WATCH_LINE_BYTES) {
          close(new ApiError('ERR_API_RESPONSE', `watch ${path}: event larger than ${MAX_WATCH_LINE_BYTES} bytes`, { statusCode }));
        }
      });
      res.on('end', () => {
        if (closed || stopped) return;
        pending += decoder.end();
        if (!deliver(pending)) return;
        close();
      });
      res.on('error', (err) => close(connectionError('GET', path, connection.server, err)));
      res.on('close', () => {
        if (!res.complete) close(new ApiError('ERR_API_CONNECTION', `watch ${path}: connection to ${connection.server} closed mid-stream`));
      });
    });
    req.end();
    return {
      stop(): void {
        if (stopped) return;
        stopped = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        req?.destroy();
      },
    };
  }

  async function body<T>(p: Promise<ApiResponse<T>>): Promise<T> {
    return (await p).body;
  }

  return {
    connection,
    request,
    get: (path, opts) => body(request('GET', path, undefined, opts)),
    list: (path, opts) => body(request('GET', path, undefined, opts)),
    create: (path, obj, opts) => body(request('POST', path, obj, opts)),
    update: (path, obj, opts) => body(request('PUT', path, obj, opts)),
    patch: (path, patch, type, opts) =>
      body(
        request(
          'PATCH',
          path,
          typeof patch === 'string' || Buffer.isBuffer(patch) ? patch : JSON.stringify(patch),
          { ...opts, contentType: PATCH_CONTENT_TYPES[type] },
        ),
      ),
    delete: (path, obj, opts) => body(request('DELETE', path, obj, opts)),
    watch,
    close: () => agent.destroy(),
  } satisfies KubeClientShape as KubeClient;
}

function parseServer(server: string): URL {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new TypeError(`server must be an absolute URL like https://host:6443, got ${JSON.stringify(server)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError(`server must be an http(s) URL, got ${JSON.stringify(server)}`);
  }
  return url;
}

function withQuery(path: string, query: RequestOptions['query']): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.append(k, String(v));
  const qs = params.toString();
  if (!qs) return path;
  return path + (path.includes('?') ? '&' : '?') + qs;
}

function readBody(res: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        res.destroy();
        reject(new ApiError('ERR_API_RESPONSE', `response larger than ${maxBytes} bytes`, { statusCode: res.statusCode }));
        return;
      }
      chunks.push(chunk);
    });
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
    res.on('close', () => {
      if (!res.complete) reject(new Error('connection closed before the response was complete'));
    });
  });
}

function isJsonType(contentType: string | undefined): boolean {
  return contentType === undefined || /json/i.test(contentType);
}

function decodeBody(raw: Buffer, contentType: string | undefined): unknown {
  if (raw.length === 0) return undefined;
  if (isJsonType(contentType)) return JSON.parse(raw.toString('utf8'));
  return raw.toString('utf8');
}

function statusError(method: string, path: string, statusCode: number, raw: Buffer): ApiError {
  let status: Status | undefined;
  try {
    const parsed: unknown = JSON.parse(raw.toString('utf8'));
    if (parsed && typeof parsed === 'object' && (parsed as { kind?: unknown }).kind === 'Status') status = parsed as Status;
  } catch {
    // not JSON: described by the status line below
  }
  const text = status?.message ?? (raw.length > 0 ? raw.toString('utf8').slice(0, 300).trim() : http.STATUS_CODES[statusCode] ?? '');
  return new ApiError('ERR_API_STATUS', `${method} ${path}: ${statusCode} ${text}`.trimEnd(), { statusCode, ...(status ? { status } : {}) });
}

function connectionError(method: string, path: string, server: string, err: Error): ApiError {
  if (err instanceof ApiError) return err;
  return new ApiError('ERR_API_CONNECTION', `${method} ${path}: cannot reach ${server}: ${err.message}`, { cause: err });
}

function isWatchEvent(value: unknown): value is WatchEvent {
  if (!value || typeof value !== 'object') return false;
  const { type, object } = value as { type?: unknown; object?: unknown };
  return typeof type === 'string' && WATCH_EVENT_TYPES.has(type) && !!object && typeof object === 'object';
}

/**
 * The texts of a `Warning` header value (RFC 7234 `code agent "text"`; Kubernetes sends
 * `299 - "text"`, node joins repeated headers with `, `).
 */
export function parseWarningHeader(value: string): string[] {
  const out: string[] = [];
  const re = /(\d{3})\s+\S+\s+"((?:[^"\\]|\\.)*)"(?:\s+"[^"]*")?/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(value)) !== null) out.push(m[2]!.replace(/\\(.)/g, '$1'));
  if (out.length === 0 && value.trim()) out.push(value.trim());
  return out;
}
