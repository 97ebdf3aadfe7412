/**
 * OIDC discovery (reference/k8s-server.md §6, Kubernetes `openidmetadata.go`): the
 * `/.well-known/openid-configuration` document, byte for byte, and the `jwks_uri` with Kubernetes'
 * validation. Any DiscoveryError means Kubernetes would not install the discovery endpoints.
 */
import { DiscoveryError } from './errors.js';
import { goJsonString } from './lib/go-json.js';
import { goParseUrl } from './lib/go-url.js';
import type { PublicKey } from './keys.js';

export const OPENID_CONFIG_PATH = '/.well-known/openid-configuration';
export const JWKS_PATH = '/openid/v1/jwks';

function invalid(message: string): DiscoveryError {
  return new DiscoveryError('ERR_DISCOVERY_INVALID', message);
}

/**
 * The issuer must be an https URL without query or fragment (the OIDC spec's requirement), read
 * with Go's url.Parse as kube-apiserver reads it: `https://a:99999` passes, `https://a?` has an
 * empty query.
 */
function checkIssuer(issuer: string): void {
  if (issuer === '') throw invalid('empty issuer URL');
  const u = goParseUrl(issuer);
  if (!u.ok) throw invalid(u.error);
  if (u.scheme !== 'https') throw invalid(`issuer URL must use https scheme, got: ${issuer}`);
  if (u.rawQuery !== '') throw invalid(`issuer URL may not include a query, got: ${issuer}`);
  if (u.fragment !== '') throw invalid(`issuer URL may not include a fragment, got: ${issuer}`);
}

/** Host and optional port, nothing else: what Go's url.URL{Host: …} round-trips unchanged. */
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]*)?$/;

/**
 * The `jwks_uri` Kubernetes advertises: `jwksUri` (`--service-account-jwks-uri`, must be https) or
 * `https://<externalAddress>/openid/v1/jwks`. Also validates the issuer, as Kubernetes does before
 * installing the endpoints. Throws DiscoveryError.
 */
export function discoveryJwksUri(opts: { issuer: string; jwksUri?: string; externalAddress?: string }): string {
  if (typeof opts !== 'object' || opts === null || typeof opts.issuer !== 'string') {
    throw new TypeError('discoveryJwksUri: issuer must be a string');
  }
  const jwksUri = opts.jwksUri ?? '';
  const externalAddress = opts.externalAddress ?? '';
  if (opts.issuer === '') throw invalid('empty issuer URL');
  if (jwksUri === '' && externalAddress === '') {
    throw invalid('either the JWKS URI or the default external address, or both, must be set');
  }
  checkIssuer(opts.issuer);
  if (jwksUri !== '') {
    const u = goParseUrl(jwksUri);
    if (!u.ok) throw invalid(u.error);
    if (u.scheme !== 'https') throw invalid(`jwksURI requires https scheme, parsed as: ${u.text}`);
    return jwksUri;
  }
  const uri = `https://${externalAddress}${JWKS_PATH}`;
  if (!HOST_PORT.test(externalAddress)) {
    throw invalid(
      `attempted to build jwks_uri from external address ${externalAddress}, but could not construct a valid URL. Error: got ${uri}, expected ${uri}`,
    );
  }
  return uri;
}

/**
 * The OpenID configuration document Kubernetes serves, byte for byte:
 * `{"issuer","jwks_uri","response_types_supported":["id_token"],"subject_types_supported":["public"],
 * "id_token_signing_alg_values_supported":[sorted unique algs of the keys]}`.
 */
export function openIdConfiguration(opts: { issuer: string; jwksUri: string; keys: PublicKey[] }): string {
  if (typeof opts !== 'object' || opts === null || typeof opts.issuer !== 'string' || typeof opts.jwksUri !== 'string') {
    throw new TypeError('openIdConfiguration: issuer and jwksUri must be strings');
  }
  if (!Array.isArray(opts.keys)) throw new TypeError('openIdConfiguration: keys must be an array of PublicKey');
  if (opts.keys.length === 0) throw invalid('no keys provided for validating keyset');
  checkIssuer(opts.issuer);
  const algs = [...new Set(opts.keys.map((k) => k.alg))].sort();
  return (
    `{"issuer":${goJsonString(opts.issuer)},"jwks_uri":${goJsonString(opts.jwksUri)},` +
    `"response_types_supported":["id_token"],"subject_types_supported":["public"],` +
    `"id_token_signing_alg_values_supported":[${algs.map(goJsonString).join(',')}]}`
  );
}
