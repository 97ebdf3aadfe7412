/**
 * TokenReview (reference/k8s-server.md §5) and SelfSubjectReview: who a token belongs to, and
 * who the caller is. TokenReview always answers 201 with a `status` object — authenticated with
 * the user and audiences, or not, with the authenticator's error — as Vault and others expect.
 */
import { badRequest, internalError, type TokenReview, type UserInfo as ApiUserInfo } from '@boundtoken/api';
import type { RequestAuthenticator } from '../auth/authenticate.js';
import type { UserInfo } from '../auth/types.js';

export function apiUserInfo(user: UserInfo): ApiUserInfo {
  const out: ApiUserInfo = { username: user.name };
  if (user.uid) out.uid = user.uid;
  if (user.groups.length > 0) out.groups = [...user.groups];
  const extra = Object.entries(user.extra);
  // lists of strings: copied directly, at a fraction of structuredClone's cost
  if (extra.length > 0) out.extra = Object.fromEntries(extra.map(([k, v]) => [k, [...v]]));
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isEmptyObject(v: unknown): boolean {
  if (!isObject(v)) return false;
  for (const _ in v) return false;
  return true;
}

/**
 * The TokenReview bodies clients send — `apiVersion`, `kind` and `spec.token`, perhaps
 * `spec.audiences`, and client-go's `metadata: {"creationTimestamp": null}` and
 * `status: {"user": {}}` — decoded as the general decoder decodes them (a null field is
 * dropped); undefined for any other body (an unknown field, a null elsewhere, a wrong type, a
 * kind or apiVersion that is not the URL's), which then takes the general decoder.
 */
export function commonTokenReview(value: unknown): TokenReview | undefined {
  if (!isObject(value) || value.apiVersion !== 'authentication.k8s.io/v1' || value.kind !== 'TokenReview') return undefined;
  let metadataNull = false;
  for (const key in value) {
    const v = value[key];
    switch (key) {
      case 'apiVersion':
      case 'kind':
        break;
      case 'metadata':
        if (!isObject(v)) return undefined;
        for (const m in v) {
          if (m !== 'creationTimestamp' || v[m] !== null) return undefined;
          metadataNull = true;
        }
        break;
      case 'spec': {
        if (!isObject(v)) return undefined;
        for (const s in v) {
          const field = v[s];
          if (s === 'token') {
            if (typeof field !== 'string') return undefined;
          } else if (s === 'audiences') {
            if (!Array.isArray(field)) return undefined;
            for (const a of field) if (typeof a !== 'string') return undefined;
          } else {
            return undefined;
          }
        }
        break;
      }
      case 'status':
        if (!isObject(v)) return undefined;
        for (const s in v) if (s !== 'user' || !isEmptyObject(v[s])) return undefined;
        break;
      default:
        return undefined;
    }
  }
  return (metadataNull ? { ...value, metadata: {} } : value) as TokenReview;
}

export async function tokenReview(
  authenticator: RequestAuthenticator,
  apiAudiences: string[],
  body: TokenReview,
  namespace: string,
): Promise<TokenReview> {
  if (namespace) throw badRequest(`namespace is not allowed on this type: ${namespace}`);
  const spec = body.spec ?? {};
  const token = spec.token ?? '';
  if (!token) throw badRequest('token is required for TokenReview in authentication');
  const requested = spec.audiences && spec.audiences.length > 0 ? spec.audiences : undefined;
  const result = await authenticator.authenticateToken(token, requested ?? apiAudiences);
  const response: TokenReview = {
    kind: 'TokenReview',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: { creationTimestamp: null as unknown as undefined },
    spec: body.spec ?? {},
    status: { user: {} },
  };
  if (result.kind === 'ok') {
    const audiences = result.audiences ?? [];
    if (requested && !audiences.some((a) => requested.includes(a))) {
      throw internalError('error validating audiences');
    }
    response.status = { authenticated: true, user: apiUserInfo(result.user), audiences };
  } else {
    // a token no authenticator claims: the bearer token authenticator's default error
    response.status = { user: {}, error: result.kind === 'error' ? result.message : 'invalid bearer token' };
  }
  return response;
}

export function selfSubjectReview(user: UserInfo, version: 'v1' | 'v1beta1'): object {
  return {
    kind: 'SelfSubjectReview',
    apiVersion: `authentication.k8s.io/${version}`,
    metadata: { creationTimestamp: null },
    status: { userInfo: apiUserInfo(user) },
  };
}
