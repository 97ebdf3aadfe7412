/**
 * The server's configuration, with kube-apiserver's flag names and validation. The CLI parses
 * flags into `ServerFlags`; `resolveServerOptions` checks them and fills defaults, failing with
 * one clear message (`OptionsError`) for the first problem found.
 */
import { isIP } from 'node:net';
import { goQuote } from '@boundtoken/api';
import { goParseUrl } from '@boundtoken/token';

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
  /** StringSlice: repeatable, each value comma-separated. */
  apiAudiences?: string[];
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

const NANOSECONDS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  '\u00b5s': 1_000n, // µ (micro sign)
  '\u03bcs': 1_000n, // μ (Greek mu)
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/**
 * Go's `time.ParseDuration` (`[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or `0`), as pflag reads a duration
 * flag, in seconds (fractional; Go's duration is whole nanoseconds). Errors are pflag's:
 * `invalid argument "7200" for "--flag" flag: time: missing unit in duration "7200"`.
 */
export function parseDurationSeconds(value: string, flag: string): number {
  const fail = (why: string): never => {
    throw new OptionsError(`invalid argument ${goQuote(value)} for "--${flag}" flag: time: ${why}`);
  };
  const invalid = `invalid duration ${goQuote(value)}`;
  let s = value;
  let negative = false;
  if (s[0] === '-' || s[0] === '+') {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') fail(invalid);
  let total = 0n;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    const [whole, fraction] = [m[1]!, m[2]];
    if (whole === '' && !fraction) fail(invalid); // no digits, e.g. ".s"
    s = s.slice(m[0].length);
    const unitLength = s.search(/[\d.]/);
    const unit = unitLength < 0 ? s : s.slice(0, unitLength);
    if (unit === '') fail(`missing unit in duration ${goQuote(value)}`);
    const ns = NANOSECONDS[unit];
    if (ns === undefined) fail(`unknown unit ${goQuote(unit)} in duration ${goQuote(value)}`);
    s = s.slice(unit.length);
    total += BigInt(whole || '0') * ns! + (fraction ? (BigInt(fraction) * ns!) / 10n ** BigInt(fraction.length) : 0n);
    if (total > 1n << 63n) fail(invalid);
  }
  if (!negative && total === 1n << 63n) fail(invalid);
  return Number(negative ? -total : total) / 1e9;
}

function validateIssuer(iss: string): void {
  if (iss === '') throw new OptionsError('service-account-issuer should not be an empty string');
  if (iss.includes(':')) {
    const u = goParseUrl(iss);
    if (!u.ok) throw new OptionsError(`service-account-issuer ${goQuote(iss)} contained a ':' but was not a valid URL: ${u.error}`);
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
    if (seen.has(iss)) throw new OptionsError(`service-account-issuer ${goQuote(iss)} is already specified`);
    seen.add(iss);
  }
  const jwksUri = f.serviceAccountJwksUri;
  if (jwksUri !== undefined && jwksUri !== '') {
    const u = goParseUrl(jwksUri);
    if (!u.ok) throw new OptionsError(`service-account-jwks-uri must be a valid URL: ${u.error}`);
    if (u.scheme !== 'https') {
      throw new OptionsError(`service-account-jwks-uri requires https scheme, parsed as: ${u.text}`);
    }
  }
  let maxExp = 0;
  if (f.serviceAccountMaxTokenExpiration) {
    const seconds = parseDurationSeconds(f.serviceAccountMaxTokenExpiration, 'service-account-max-token-expiration');
    if (seconds !== 0 && (seconds < 3600 || seconds > 2 ** 32)) {
      throw new OptionsError('the service-account-max-token-expiration must be between 1 hour and 2^32 seconds');
    }
    maxExp = Math.trunc(seconds); // int64(maxExpiration.Seconds())
  }
  const apiAudiences = (f.apiAudiences ?? []).map((s) => s.trim()).filter(Boolean);
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
