/**
 * The service account token configuration: which key signs, which keys verify, which issuers are
 * accepted, which audiences the API itself answers to — from kube-apiserver's flags, defaulting to
 * the key bootstrapped in the data directory and `https://kubernetes.default.svc.cluster.local`.
 */
import { readFileSync } from 'node:fs';
import { loadPublicKeys, loadSigningKey, type PublicKey, type SigningKey } from '@boundtoken/token';
import { DEFAULT_ISSUER, OptionsError, type ServerOptions } from '../options.js';

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

function readFile(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new OptionsError(`--${flag}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

export function loadTokenConfig(opts: ServerOptions, bootstrappedKeyPem: string): TokenConfig {
  const sa = opts.serviceAccount;
  const warnings: string[] = [];
  let signingKey: SigningKey;
  const signingPem = sa.signingKeyFile ? readFile(sa.signingKeyFile, 'service-account-signing-key-file') : bootstrappedKeyPem;
  try {
    signingKey = loadSigningKey(signingPem);
  } catch (err) {
    throw new OptionsError(`failed to parse service-account-issuer-key-file: ${(err as Error).message}`, { cause: err });
  }
  let publicKeys: PublicKey[];
  if (sa.keyFiles.length > 0) {
    publicKeys = [];
    for (const f of sa.keyFiles) {
      try {
        publicKeys.push(...loadPublicKeys(readFile(f, 'service-account-key-file')));
      } catch (err) {
        if (err instanceof OptionsError) throw err;
        throw new OptionsError(`failed to parse key file "${f}": ${(err as Error).message}`, { cause: err });
      }
    }
    if (!publicKeys.some((k) => k.kid === signingKey.kid)) {
      warnings.push(
        `the signing key (kid ${signingKey.kid}) is not among the --service-account-key-file keys: tokens this server issues will not verify`,
      );
    }
  } else {
    publicKeys = [{ kid: signingKey.kid, alg: signingKey.alg, key: signingKey.key }];
  }
  // one entry per kid: the same key given twice is listed once in the JWKS
  const seen = new Set<string>();
  publicKeys = publicKeys.filter((k) => (seen.has(k.kid) ? false : (seen.add(k.kid), true)));
  const issuers = sa.issuers.length > 0 ? [...sa.issuers] : [DEFAULT_ISSUER];
  const apiAudiences = sa.apiAudiences.length > 0 ? [...sa.apiAudiences] : [...issuers];
  if (sa.extendTokenExpiration && sa.maxTokenExpirationSeconds > 0 && sa.maxTokenExpirationSeconds < 3607) {
    warnings.push('service-account-extend-token-expiration is true, so --service-account-max-token-expiration below 3607 seconds has no effect on extended tokens');
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
