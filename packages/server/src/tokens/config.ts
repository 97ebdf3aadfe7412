/**
 * The service account token configuration: which key signs, which keys verify, which issuers are
 * accepted, which audiences the API itself answers to — from kube-apiserver's flags, defaulting to
 * the key bootstrapped in the data directory and `https://kubernetes.default.svc.cluster.local`.
 */
import { readFileSync } from 'node:fs';
import { goQuote } from '@boundtoken/api';
import { loadPublicKeys, loadSigningKey, type PublicKey, type SigningKey } from '@boundtoken/token';
import { DEFAULT_ISSUER, OptionsError, type ServerOptions } from '../options.js';
import { EXPIRATION_EXTENSION_SECONDS, WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS } from './token-request.js';

export interface TokenConfig {
  signingKey: SigningKey;
  /** Verification keys (`--service-account-key-file`, default: the signing key's public half). */
  publicKeys: PublicKey[];
  /** All accepted issuers; the first signs. */
  issuers: string[];
  /** `--api-audiences`, default: the issuers. */
  apiAudiences: string[];
  maxTokenExpirationSeconds: number;
  extendTokenExpiration: boolean;
  jwksUri: string | undefined;
  lookup: boolean;
  /** Warnings for the log (e.g. the signing key is not among the verification keys). */
  warnings: string[];
}

/** Go's time.Duration String() of whole seconds: `1h0m0s`, `2m5s`, `7s`. */
function goDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
}

/** Go's text for a failed os.ReadFile, e.g. `open sa.key: no such file or directory`. */
function goReadError(path: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return `open ${path}: no such file or directory`;
    case 'EACCES':
      return `open ${path}: permission denied`;
    case 'EISDIR':
      return `read ${path}: is a directory`;
    default:
      return `open ${path}: ${err.message}`;
  }
}

/**
 * A key file's PEM text, or kube-apiserver's message for it: `prefix: open F: no such file or
 * directory`, `prefix: error reading <kind> key file F: <why>` (client-go keyutil's wrapping).
 */
function readKeys<T>(path: string, kind: 'public' | 'private', prefix: string, parse: (pem: string) => T): T {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new OptionsError(`${prefix}: ${goReadError(path, err as NodeJS.ErrnoException)}`, { cause: err });
  }
  try {
    return parse(pem);
  } catch (err) {
    throw new OptionsError(`${prefix}: error reading ${kind} key file ${path}: ${(err as Error).message}`, { cause: err });
  }
}

export function loadTokenConfig(opts: ServerOptions, bootstrappedKeyPem: string): TokenConfig {
  const sa = opts.serviceAccount;
  const warnings: string[] = [];
  const signingKey: SigningKey = sa.signingKeyFile
    ? readKeys(sa.signingKeyFile, 'private', 'failed to parse service-account-issuer-key-file', loadSigningKey)
    : loadSigningKey(bootstrappedKeyPem);
  let publicKeys: PublicKey[];
  if (sa.keyFiles.length > 0) {
    // every key of every file, repeats included, as kube-apiserver lists them in the JWKS
    publicKeys = sa.keyFiles.flatMap((f) => readKeys(f, 'public', `failed to parse key file ${goQuote(f)}`, loadPublicKeys));
    if (!publicKeys.some((k) => k.kid === signingKey.kid)) {
      warnings.push(
        `the signing key (kid ${signingKey.kid}) is not among the --service-account-key-file keys: tokens this server issues will not verify`,
      );
    }
  } else {
    publicKeys = [{ kid: signingKey.kid, alg: signingKey.alg, key: signingKey.key }];
  }
  const issuers = sa.issuers.length > 0 ? [...sa.issuers] : [DEFAULT_ISSUER];
  const apiAudiences = sa.apiAudiences.length > 0 ? [...sa.apiAudiences] : [...issuers];
  const max = sa.maxTokenExpirationSeconds;
  if (sa.extendTokenExpiration && max > 0) {
    // kube-apiserver's two start-up warnings (1.32 wording)
    if (max < WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS) {
      warnings.push(
        `service-account-extend-token-expiration is true, in order to correctly trigger safe transition logic, service-account-max-token-expiration must be set longer than ${WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS} seconds (currently ${goDuration(max)})`,
      );
    }
    if (max < EXPIRATION_EXTENSION_SECONDS) {
      warnings.push(
        `service-account-extend-token-expiration is true, enabling tokens valid up to ${EXPIRATION_EXTENSION_SECONDS} seconds, which is longer than service-account-max-token-expiration set to ${goDuration(max)} seconds`,
      );
    }
  }
  return {
    signingKey,
    publicKeys,
    issuers,
    apiAudiences,
    maxTokenExpirationSeconds: sa.maxTokenExpirationSeconds,
    extendTokenExpiration: sa.extendTokenExpiration,
    jwksUri: sa.jwksUri,
    lookup: sa.lookup,
    warnings,
  };
}
