/**
 * The server's configuration, with kube-apiserver's flag names and validation. The CLI parses
 * flags into `ServerFlags`; `resolveServerOptions` checks them and fills defaults, failing with
 * one clear message (`OptionsError`) for the first problem found.
 */
import { isIP } from 'node:net';

export type StorageBackend = 'sqlite' | 'memory' | 'etcd';
export type AuthorizationMode = 'Node' | 'RBAC' | 'AlwaysAllow';

/** Flag values as given on the command line (kube-apiserver names, camelCased). */
export interface ServerFlags {
  dataDir?: string;
  securePort?: number;
  bindAddress?: string;
  storageBackend?: string;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  tlsSan?: string[];
  clientCaFile?: string;
  tokenAuthFile?: string;
  authorizationMode?: string;
  anonymousAuth?: boolean;
  etcdServers?: string;
  etcdPrefix?: string;
  etcdCafile?: string;
  etcdCertfile?: string;
  etcdKeyfile?: string;
  serviceAccountIssuer?: string[];
  apiAudiences?: string;
  serviceAccountKeyFile?: string[];
  serviceAccountSigningKeyFile?: string;
  serviceAccountMaxTokenExpiration?: string;
  serviceAccountExtendTokenExpiration?: boolean;
  serviceAccountJwksUri?: string;
  serviceAccountLookup?: boolean;
  externalHostname?: string;
  logLevel?: string;
}

export interface ServerOptions {
  dataDir: string;
  securePort: number;
  bindAddress: string;
  storageBackend: StorageBackend;
  tlsCertFile: string | undefined;
  tlsPrivateKeyFile: string | undefined;
  tlsSans: string[];
  clientCaFile: string | undefined;
  tokenAuthFile: string | undefined;
  authorizationModes: AuthorizationMode[];
  anonymousAuth: boolean;
  etcd: { servers: string[]; prefix: string; caFile?: string; certFile?: string; keyFile?: string };
  serviceAccount: {
    /** Empty: the default issuer `https://kubernetes.default.svc.cluster.local`. */
    issuers: string[];
    /** Empty: the issuers. */
    apiAudiences: string[];
    keyFiles: string[];
    signingKeyFile: string | undefined;
    /** 0: no cap. */
    maxTokenExpirationSeconds: number;
    extendTokenExpiration: boolean;
    jwksUri: string | undefined;
    lookup: boolean;
  };
  /** Host name (and port) clients are told to use; defaults to the bind address. */
  externalHostname: string | undefined;
  logLevel: string;
}

export class OptionsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OptionsError';
  }
}

export const DEFAULT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

/** Go-style durations: `1h`, `90m`, `3600s`, `1h30m`; a bare number means seconds. */
export function parseDurationSeconds(value: string, flag: string): number {
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(v)) !== null) {
    const n = Number(m[1]);
    total += m[2] === 'h' ? n * 3600 : m[2] === 'm' ? n * 60 : m[2] === 's' ? n : n / 1000;
    consumed = re.lastIndex;
  }
  if (consumed !== v.length || v.length === 0) throw new OptionsError(`invalid argument "${value}" for "--${flag}" flag: time: invalid duration "${value}"`);
  return Math.floor(total);
}

function validateIssuer(iss: string): void {
  if (iss === '') throw new OptionsError('service-account-issuer should not be an empty string');
  if (iss.includes(':')) {
    try {
      new URL(iss);
    } catch (err) {
      throw new OptionsError(`service-account-issuer "${iss}" contained a ':' but was not a valid URL: ${(err as Error).message}`);
    }
  }
}

export function resolveServerOptions(f: ServerFlags): ServerOptions {
  const securePort = f.securePort ?? 6443;
  if (!Number.isInteger(securePort) || securePort < 0 || securePort > 65535) {
    throw new OptionsError(`--secure-port ${String(f.securePort)} must be between 0 and 65535, inclusive`);
  }
  const bindAddress = f.bindAddress ?? '0.0.0.0';
  if (!isIP(bindAddress)) throw new OptionsError(`--bind-address "${bindAddress}" is not a valid IP address`);
  const backend = (f.storageBackend ?? 'sqlite') as StorageBackend;
  if (!['sqlite', 'memory', 'etcd'].includes(backend)) {
    throw new OptionsError(`--storage-backend "${f.storageBackend}" is not supported: use sqlite, memory or etcd`);
  }
  if (!!f.tlsCertFile !== !!f.tlsPrivateKeyFile) {
    throw new OptionsError('--tls-cert-file and --tls-private-key-file must be given together');
  }
  const modes = (f.authorizationMode ?? 'Node,RBAC').split(',').map((m) => m.trim()).filter(Boolean);
  for (const m of modes) {
    if (!['Node', 'RBAC', 'AlwaysAllow'].includes(m)) {
      throw new OptionsError(`--authorization-mode "${m}" is not supported: use Node, RBAC or AlwaysAllow`);
    }
  }
  if (new Set(modes).size !== modes.length) throw new OptionsError(`--authorization-mode "${f.authorizationMode}" has mode specified more than once`);
  const etcdServers = (f.etcdServers ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (backend === 'etcd' && etcdServers.length === 0) throw new OptionsError('--etcd-servers must be specified with --storage-backend etcd');
  for (const s of etcdServers) {
    try {
      const u = new URL(s);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme must be http or https');
    } catch (err) {
      throw new OptionsError(`--etcd-servers "${s}" is not a valid URL: ${(err as Error).message}`);
    }
  }

  const issuers = f.serviceAccountIssuer ?? [];
  const seen = new Set<string>();
  for (const iss of issuers) {
    validateIssuer(iss);
    if (seen.has(iss)) throw new OptionsError(`service-account-issuer "${iss}" is already specified`);
    seen.add(iss);
  }
  const jwksUri = f.serviceAccountJwksUri;
  if (jwksUri !== undefined && jwksUri !== '') {
    let u: URL;
    try {
      u = new URL(jwksUri);
    } catch (err) {
      throw new OptionsError(`service-account-jwks-uri must be a valid URL: ${(err as Error).message}`);
    }
    if (u.protocol !== 'https:') throw new OptionsError(`service-account-jwks-uri requires https scheme, parsed as: ${u.toString()}`);
  }
  let maxExp = 0;
  if (f.serviceAccountMaxTokenExpiration) {
    maxExp = parseDurationSeconds(f.serviceAccountMaxTokenExpiration, 'service-account-max-token-expiration');
    if (maxExp !== 0 && (maxExp < 3600 || maxExp > 2 ** 32)) {
      throw new OptionsError('the service-account-max-token-expiration must be between 1 hour and 2^32 seconds');
    }
  }
  const apiAudiences = (f.apiAudiences ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return {
    dataDir: f.dataDir ?? '.boundtoken',
    securePort,
    bindAddress,
    storageBackend: backend,
    tlsCertFile: f.tlsCertFile,
    tlsPrivateKeyFile: f.tlsPrivateKeyFile,
    tlsSans: f.tlsSan ?? [],
    clientCaFile: f.clientCaFile,
    tokenAuthFile: f.tokenAuthFile,
    authorizationModes: modes as AuthorizationMode[],
    anonymousAuth: f.anonymousAuth ?? false,
    etcd: {
      servers: etcdServers,
      prefix: f.etcdPrefix ?? '/registry',
      ...(f.etcdCafile ? { caFile: f.etcdCafile } : {}),
      ...(f.etcdCertfile ? { certFile: f.etcdCertfile } : {}),
      ...(f.etcdKeyfile ? { keyFile: f.etcdKeyfile } : {}),
    },
    serviceAccount: {
      issuers,
      apiAudiences,
      keyFiles: f.serviceAccountKeyFile ?? [],
      signingKeyFile: f.serviceAccountSigningKeyFile,
      maxTokenExpirationSeconds: maxExp,
      extendTokenExpiration: f.serviceAccountExtendTokenExpiration ?? true,
      jwksUri: jwksUri || undefined,
      lookup: f.serviceAccountLookup ?? true,
    },
    externalHostname: f.externalHostname,
    logLevel: f.logLevel ?? 'info',
  };
}
