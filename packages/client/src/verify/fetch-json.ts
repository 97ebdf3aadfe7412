/**
 * GET a JSON document over HTTP(S) with an optional CA and bearer token, for OIDC discovery and
 * JWKS. Built on the API client's transport (node:https, keep-alive). The bearer token is sent only
 * to the trusted origin (the issuer's, or the API server's), never to a JWKS host elsewhere.
 */
import { createKubeClient, type KubeClient } from '../kube/client.js';
import type { ClusterConnection } from '../kube/types.js';

export interface FetchSettings {
  /** PEM CA bundle for the issuer / JWKS host (default: the system roots). */
  ca?: string | Buffer;
  /** Skip TLS verification (tests only). */
  insecureSkipTLSVerify?: boolean;
  /**
   * Bearer token for the issuer's own origin (a cluster's discovery endpoints need one unless
   * anonymous access is on; in a pod, pass `() => tokenFile.token`).
   */
  token?: string | (() => string);
  /** Client certificate and key (PEM) for the issuer's own origin, e.g. from a kubeconfig. */
  clientCert?: string | Buffer;
  clientKey?: string | Buffer;
  /** Deadline per fetch (default 10 000 ms). */
  timeoutMs?: number;
}

export interface FetchedJson {
  body: unknown;
  /** `Cache-Control` max-age in ms; 0 for no-store/no-cache; undefined when absent. */
  maxAgeMs: number | undefined;
}

export interface JsonFetcher {
  get(url: string): Promise<FetchedJson>;
  close(): void;
}

export function createJsonFetcher(settings: FetchSettings, trustedOrigin: string | undefined): JsonFetcher {
  const clients = new Map<string, KubeClient>();
  function clientFor(origin: string): KubeClient {
    let c = clients.get(origin);
    if (!c) {
      const conn: ClusterConnection = { server: origin };
      if (settings.ca !== undefined) conn.ca = settings.ca;
      if (settings.insecureSkipTLSVerify) conn.insecureSkipTLSVerify = true;
      if (origin === trustedOrigin) {
        if (settings.token !== undefined) conn.token = settings.token;
        if (settings.clientCert !== undefined && settings.clientKey !== undefined) {
          conn.clientCert = settings.clientCert;
          conn.clientKey = settings.clientKey;
        }
      }
      c = createKubeClient(conn, { userAgent: 'boundtoken-client/0.1.0 (verifier)', maxResponseBytes: 1024 * 1024, maxSockets: 4 });
      clients.set(origin, c);
    }
    return c;
  }
  return {
    async get(url) {
      const u = new URL(url);
      const res = await clientFor(u.origin).request('GET', u.pathname + u.search, undefined, { timeoutMs: settings.timeoutMs ?? 10_000 });
      const cc = res.headers['cache-control'];
      return { body: res.body, maxAgeMs: parseMaxAge(Array.isArray(cc) ? cc.join(',') : cc) };
    },
    close() {
      for (const c of clients.values()) c.close();
      clients.clear();
    },
  };
}

/** `Cache-Control` → max-age in ms (`no-store`/`no-cache` → 0); undefined when it says nothing. */
export function parseMaxAge(header: string | undefined): number | undefined {
  if (!header) return undefined;
  const h = header.toLowerCase();
  if (/(^|[\s,])(no-store|no-cache)([\s,=]|$)/.test(h)) return 0;
  const m = /(^|[\s,])max-age\s*=\s*"?(\d+)"?/.exec(h);
  return m ? Number(m[2]) * 1000 : undefined;
}
