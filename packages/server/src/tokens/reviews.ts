/**
 * TokenReview (reference/k8s-server.md §5) and SelfSubjectReview: who a token belongs to, and
 * who the caller is. TokenReview always answers 201 with a `status` object — authenticated with
 * the user and audiences, or not, with the authenticator's error — as Vault and others expect.
 */
import { badRequest, internalError, type TokenReview, type UserInfo as ApiUserInfo } from '@boundtoken/api';
import type { RequestAuthenticator } from '../auth/authenticate.js';
import type { AuthenticationResult, UserInfo } from '../auth/types.js';

export function apiUserInfo(user: UserInfo): ApiUserInfo {
  const out: ApiUserInfo = { username: user.name };
  if (user.uid) out.uid = user.uid;
  if (user.groups.length > 0) out.groups = [...user.groups];
  const extra = Object.entries(user.extra);
  // lists of strings: copied directly, at a fraction of structuredClone's cost
  if (extra.length > 0) out.extra = Object.fromEntries(extra.map(([k, v]) => [k, [...v]]));
  return out;
}

export interface TokenReviewAnswer {
  authenticated: boolean;
  /** The TokenReview to answer, as JSON (text or bytes). */
  body: string | Buffer;
}

type Spec = NonNullable<TokenReview['spec']>;

/**
 * The answer last made for each successful result, with the spec it echoes: the authenticator
 * answers a cached result object again for the same token and audiences, and a review of them
 * with the same spec is answered with the same bytes. Kept from the second answer on, so that
 * tokens reviewed once (most of a busy cache) hold no answer.
 */
const answered = new WeakMap<AuthenticationResult, { spec: Spec; bytes: Buffer }>();
const answeredOnce = new WeakSet<AuthenticationResult>();

function sameStrings(a: unknown, b: unknown): boolean {
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (typeof a[i] !== 'string' || a[i] !== b[i]) return false;
  return true;
}

/** Whether two specs have the same JSON: `token` and `audiences`, in the same order, equal. */
function sameSpec(a: Spec, b: Spec): boolean {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i]!;
    if (k !== kb[i]) return false;
    if (k === 'token') {
      if (typeof a.token !== 'string' || a.token !== b.token) return false;
    } else if (k !== 'audiences' || !sameStrings(a.audiences, b.audiences)) {
      return false;
    }
  }
  return true;
}

const REVIEW_HEAD = '{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","metadata":{"creationTimestamp":null},"spec":';

/**
 * Reviews `body.spec.token`. The answer is the JSON of `{kind, apiVersion, metadata:
 * {creationTimestamp: null}, spec, status}`; for a successful result it is made once per spec.
 */
export async function tokenReview(
  authenticator: RequestAuthenticator,
  apiAudiences: string[],
  body: TokenReview,
  namespace: string,
): Promise<TokenReviewAnswer> {
  if (namespace) throw badRequest(`namespace is not allowed on this type: ${namespace}`);
  const spec = body.spec ?? {};
  const token = spec.token ?? '';
  if (!token) throw badRequest('token is required for TokenReview in authentication');
  const requested = spec.audiences && spec.audiences.length > 0 ? spec.audiences : undefined;
  const result = await authenticator.authenticateToken(token, requested ?? apiAudiences);
  if (result.kind === 'ok') {
    const audiences = result.audiences ?? [];
    if (requested && !audiences.some((a) => requested.includes(a))) {
      throw internalError('error validating audiences');
    }
    const last = answered.get(result);
    if (last !== undefined && sameSpec(last.spec, spec)) return { authenticated: true, body: last.bytes };
    const status = { authenticated: true, user: apiUserInfo(result.user), audiences };
    const bytes = Buffer.from(`${REVIEW_HEAD}${JSON.stringify(spec)},"status":${JSON.stringify(status)}}`);
    if (answeredOnce.has(result)) answered.set(result, { spec, bytes });
    else answeredOnce.add(result);
    return { authenticated: true, body: bytes };
  }
  // a token no authenticator claims: the bearer token authenticator's default error
  const status = { user: {}, error: result.kind === 'error' ? result.message : 'invalid bearer token' };
  return { authenticated: false, body: `${REVIEW_HEAD}${JSON.stringify(spec)},"status":${JSON.stringify(status)}}` };
}

export function selfSubjectReview(user: UserInfo, version: 'v1' | 'v1beta1'): object {
  return {
    kind: 'SelfSubjectReview',
    apiVersion: `authentication.k8s.io/${version}`,
    metadata: { creationTimestamp: null },
    status: { userInfo: apiUserInfo(user) },
  };
}
