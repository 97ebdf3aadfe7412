/**
 * kube-apiserver's flags, shared by `boundtoken server` and `boundtoken up`: declared once on a
 * commander command, read back as the server package's `ServerFlags`.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { parseGoBool, type ServerFlags } from '@boundtoken/server';

/** Repeatable flag; `split` also accepts comma-separated values (StringSlice semantics). */
function collect(split: boolean) {
  return (value: string, previous: string[] | undefined): string[] => [
    ...(previous ?? []),
    ...(split ? value.split(',').map((s) => s.trim()).filter(Boolean) : [value]),
  ];
}

/** Go's strconv.ParseBool, as pflag reads a bool flag; a bare flag is true. */
export function parseBool(value: string | undefined): boolean {
  if (value === undefined) return true;
  const parsed = parseGoBool(value);
  if (parsed !== undefined) return parsed;
  throw new InvalidArgumentError(`strconv.ParseBool: parsing "${value}": invalid syntax`);
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError(`"${value}" is not a valid port`);
  return n;
}

export interface ServerFlagDefaults {
  securePort?: string;
  bindAddress?: string;
}

export function addServerFlags(cmd: Command, defaults: ServerFlagDefaults = {}): Command {
  return cmd
    .option('--data-dir <dir>', 'where state, keys and certificates live', '.boundtoken')
    .option('--secure-port <port>', 'HTTPS port (0: any free port)', parsePort, Number(defaults.securePort ?? 6443))
    .option('--bind-address <ip>', 'IP address to listen on', defaults.bindAddress ?? '0.0.0.0')
    .option('--storage-backend <backend>', 'sqlite (embedded, default), memory, or etcd', 'sqlite')
    .option('--tls-cert-file <file>', 'serving certificate (default: one bootstrapped in the data dir)')
    .option('--tls-private-key-file <file>', 'key of --tls-cert-file')
    .option('--tls-san <san>', 'extra serving certificate SAN (DNS name or IP; repeatable, comma-separated)', collect(true))
    .option('--client-ca-file <file>', 'extra CA bundle for client certificates (the data dir CA is always trusted)')
    .option('--token-auth-file <file>', "static bearer tokens, kube's CSV format: token,user,uid[,\"group1,group2\"]")
    .option('--authorization-mode <modes>', 'ordered list of Node, RBAC, AlwaysAllow', 'Node,RBAC')
    .option('--anonymous-auth [bool]', 'allow unauthenticated requests as system:anonymous', parseBool, false)
    .option('--etcd-servers <urls>', 'etcd client URLs, comma-separated (with --storage-backend etcd)')
    .option('--etcd-prefix <prefix>', 'etcd key prefix', '/registry')
    .option('--etcd-cafile <file>', 'CA for etcd server certificates')
    .option('--etcd-certfile <file>', 'client certificate for etcd')
    .option('--etcd-keyfile <file>', 'client key for etcd')
    .option('--service-account-issuer <issuer>', 'token issuer; repeatable: the first signs, all are accepted', collect(false))
    .option('--api-audiences <audiences>', 'audiences of the API (repeatable, comma-separated; default: the issuers)', collect(true))
    .option('--service-account-key-file <file>', 'PEM file of verification keys (repeatable)', collect(false))
    .option('--service-account-signing-key-file <file>', 'PEM file of the signing key (default: the data dir key)')
    .option('--service-account-max-token-expiration <duration>', 'cap on requested token lifetimes (e.g. 24h; 0: none)')
    .option('--service-account-extend-token-expiration [bool]', 'extend 3607 s pod-bound tokens to a year (warnafter)', parseBool, true)
    .option('--service-account-jwks-uri <url>', 'jwks_uri advertised in OIDC discovery')
    .option('--service-account-lookup [bool]', 'check legacy secret-based tokens against their Secret', parseBool, true)
    .option('--external-hostname <host>', 'host name clients should use to reach the server')
    .option('--log-level <level>', 'trace, debug, info, warn, error', 'info');
}

export function serverFlagsOf(o: Record<string, unknown>): ServerFlags {
  const str = (k: string): string | undefined => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  const list = (k: string): string[] | undefined => (Array.isArray(o[k]) ? (o[k] as string[]) : undefined);
  const bool = (k: string): boolean | undefined => (typeof o[k] === 'boolean' ? (o[k] as boolean) : undefined);
  const flags: ServerFlags = {};
  const set = <K extends keyof ServerFlags>(k: K, v: ServerFlags[K] | undefined): void => {
    if (v !== undefined) flags[k] = v;
  };
  set('dataDir', str('dataDir'));
  set('securePort', typeof o.securePort === 'number' ? o.securePort : undefined);
  set('bindAddress', str('bindAddress'));
  set('storageBackend', str('storageBackend'));
  set('tlsCertFile', str('tlsCertFile'));
  set('tlsPrivateKeyFile', str('tlsPrivateKeyFile'));
  set('tlsSan', list('tlsSan'));
  set('clientCaFile', str('clientCaFile'));
  set('tokenAuthFile', str('tokenAuthFile'));
  set('authorizationMode', str('authorizationMode'));
  set('anonymousAuth', bool('anonymousAuth'));
  set('etcdServers', str('etcdServers'));
  set('etcdPrefix', str('etcdPrefix'));
  set('etcdCafile', str('etcdCafile'));
  set('etcdCertfile', str('etcdCertfile'));
  set('etcdKeyfile', str('etcdKeyfile'));
  set('serviceAccountIssuer', list('serviceAccountIssuer'));
  set('apiAudiences', list('apiAudiences'));
  set('serviceAccountKeyFile', list('serviceAccountKeyFile'));
  set('serviceAccountSigningKeyFile', str('serviceAccountSigningKeyFile'));
  set('serviceAccountMaxTokenExpiration', str('serviceAccountMaxTokenExpiration'));
  set('serviceAccountExtendTokenExpiration', bool('serviceAccountExtendTokenExpiration'));
  set('serviceAccountJwksUri', str('serviceAccountJwksUri'));
  set('serviceAccountLookup', bool('serviceAccountLookup'));
  set('externalHostname', str('externalHostname'));
  set('logLevel', str('logLevel'));
  return flags;
}
