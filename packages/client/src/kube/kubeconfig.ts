/**
 * `loadKubeconfig`: a kubeconfig file (clusters / users / contexts / current-context) resolved to
 * the `ClusterConnection` of one context. File paths inside are relative to the kubeconfig's
 * directory, `*-data` fields are base64, `tokenFile` is re-read as it rotates.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { ConfigError } from './errors.js';
import { fileTokenSource } from './file-token.js';
import type { ClusterConnection } from './types.js';

export interface KubeconfigOptions {
  /** Context to use (default: the file's `current-context`). */
  context?: string;
  /** Environment for the default path (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

/** A kubeconfig context resolved: the connection plus the context's name and namespace. */
export interface KubeconfigConnection extends ClusterConnection {
  /** The context used. */
  context: string;
  /** The context's namespace (default `default`). */
  namespace: string;
}

type Dict = Record<string, unknown>;

/**
 * Loads one context of a kubeconfig. `path` defaults to the first entry of `$KUBECONFIG`, then
 * `~/.kube/config`. Throws `ConfigError`: `ERR_CONFIG_READ` (cannot read a file) or
 * `ERR_CONFIG_INVALID` (what is missing or unsupported, and where).
 */
export function loadKubeconfig(path?: string, options: KubeconfigOptions = {}): KubeconfigConnection {
  const env = options.env ?? process.env;
  const file = resolve(path ?? defaultKubeconfigPath(env));
  const dir = dirname(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('ERR_CONFIG_READ', `cannot read kubeconfig ${file}: ${(err as Error).message}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ConfigError('ERR_CONFIG_INVALID', `kubeconfig ${file} is not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  if (!isDict(doc)) throw invalid(file, 'the document is not a mapping');

  const contextName = options.context ?? str(doc['current-context']);
  if (!contextName) throw invalid(file, 'no context given and no current-context set');
  const context = named(doc, 'contexts', 'context', contextName, file);
  const clusterName = str(context.cluster);
  if (!clusterName) throw invalid(file, `context "${contextName}" names no cluster`);
  const cluster = named(doc, 'clusters', 'cluster', clusterName, file);
  const userName = str(context.user);
  const user = userName ? named(doc, 'users', 'user', userName, file) : {};

  const server = str(cluster.server);
  if (!server) throw invalid(file, `cluster "${clusterName}" has no server`);
  try {
    const url = new URL(server);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http(s)');
  } catch {
    throw invalid(file, `cluster "${clusterName}" server ${JSON.stringify(server)} is not an http(s) URL`);
  }

  const where = (kind: string, name: string) => `${kind} "${name}"`;
  const conn: KubeconfigConnection = {
    server: server.replace(/\/+$/, ''),
    context: contextName,
    namespace: str(context.namespace) || 'default',
  };
  const ca = dataOrFile(cluster, 'certificate-authority', dir, file, where('cluster', clusterName));
  if (ca) conn.ca = ca;
  if (cluster['insecure-skip-tls-verify'] === true) conn.insecureSkipTLSVerify = true;
  const tlsServerName = str(cluster['tls-server-name']);
  if (tlsServerName) conn.tlsServerName = tlsServerName;

  if (userName) {
    const u = where('user', userName);
    for (const unsupported of ['exec', 'auth-provider', 'username', 'password']) {
      if (user[unsupported] !== undefined) throw invalid(file, `${u} uses "${unsupported}", which this client does not support`);
    }
    const cert = dataOrFile(user, 'client-certificate', dir, file, u);
    const key = dataOrFile(user, 'client-key', dir, file, u);
    if (!!cert !== !!key) throw invalid(file, `${u} has a client certificate without a key, or a key without a certificate`);
    if (cert && key) {
      conn.clientCert = cert;
      conn.clientKey = key;
    }
    const tokenFile = str(user.tokenFile);
    const token = str(user.token);
    if (tokenFile) conn.token = fileTokenSource(resolve(dir, tokenFile));
    else if (token) conn.token = token;
  }
  return conn;
}

/** `$KUBECONFIG` (its first entry) or `~/.kube/config`. */
export function defaultKubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const first = (env.KUBECONFIG ?? '').split(process.platform === 'win32' ? ';' : ':').find((p) => p.trim() !== '');
  return first ?? resolve(homedir(), '.kube', 'config');
}

function named(doc: Dict, list: string, field: string, name: string, file: string): Dict {
  const entries = doc[list];
  if (entries !== undefined && entries !== null && !Array.isArray(entries)) throw invalid(file, `"${list}" is not a list`);
  const entry = (entries as unknown[] | undefined ?? []).find((e) => isDict(e) && e.name === name) as Dict | undefined;
  if (!entry) throw invalid(file, `${field} "${name}" not found in "${list}"`);
  const value = entry[field] ?? {};
  if (!isDict(value)) throw invalid(file, `${field} "${name}" is not a mapping`);
  return value;
}

/** `<field>-data` (base64) wins over `<field>` (a path relative to the kubeconfig). */
function dataOrFile(section: Dict, field: string, dir: string, file: string, where: string): Buffer | undefined {
  const data = str(section[`${field}-data`]);
  if (data) {
    const buf = Buffer.from(data, 'base64');
    if (buf.length === 0) throw invalid(file, `${where} ${field}-data is not base64`);
    return buf;
  }
  const path = str(section[field]);
  if (!path) return undefined;
  const full = resolve(dir, path);
  try {
    return readFileSync(full);
  } catch (err) {
    throw new ConfigError('ERR_CONFIG_READ', `kubeconfig ${file}: ${where} ${field} ${full}: ${(err as Error).message}`, { cause: err });
  }
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function isDict(v: unknown): v is Dict {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function invalid(file: string, why: string): ConfigError {
  return new ConfigError('ERR_CONFIG_INVALID', `kubeconfig ${file}: ${why}`);
}
