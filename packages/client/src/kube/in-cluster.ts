/**
 * `inClusterConnection`: how a pod reaches its API server, as client-go's `InClusterConfig` does:
 * `KUBERNETES_SERVICE_HOST`/`_PORT`, and the service account's `token` (re-read as the kubelet
 * rotates it), `ca.crt` and `namespace` under `/var/run/secrets/kubernetes.io/serviceaccount`.
 */
import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { join } from 'node:path';
import { ConfigError } from './errors.js';
import { fileTokenSource } from './file-token.js';
import type { ClusterConnection } from './types.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface InClusterOptions {
  /** The mounted service account directory (default `/var/run/secrets/kubernetes.io/serviceaccount`). */
  dir?: string;
  /** Environment (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Re-read the token when the copy in memory is older than this (default 60 000 ms, as client-go). */
  tokenMaxAgeMs?: number;
  /** Clock for the token re-read (default `Date.now`). */
  now?: () => number;
  /** Called when a token re-read fails and the last good token is kept. */
  onTokenError?: (err: Error) => void;
}

export interface InClusterConnection extends ClusterConnection {
  /** The pod's namespace (the `namespace` file; `default` if it is missing). */
  namespace: string;
  /** The current service account token (re-read as it rotates). */
  token: () => string;
}

/** Throws `ConfigError`: `ERR_CONFIG_NOT_IN_CLUSTER` (no service env), `ERR_CONFIG_READ` (no token). */
export function inClusterConnection(options: InClusterOptions = {}): InClusterConnection {
  const env = options.env ?? process.env;
  const dir = options.dir ?? SERVICE_ACCOUNT_DIR;
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new ConfigError(
      'ERR_CONFIG_NOT_IN_CLUSTER',
      'unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined',
    );
  }
  const token = fileTokenSource(join(dir, 'token'), {
    ...(options.tokenMaxAgeMs !== undefined ? { maxAgeMs: options.tokenMaxAgeMs } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.onTokenError ? { onError: options.onTokenError } : {}),
  });
  const conn: InClusterConnection = {
    server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`,
    token,
    namespace: readOptional(join(dir, 'namespace'))?.toString('utf8').trim() || 'default',
  };
  const ca = readOptional(join(dir, 'ca.crt'));
  if (ca) conn.ca = ca;
  return conn;
}

function readOptional(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}
