/**
 * TokenReview (reference/k8s-server.md §5) and SelfSubjectReview: who a token belongs to, and
 * who the caller is. TokenReview always answers 201 with a `status` object — authenticated with
 * the user and audiences, or not, with the authenticator's error — as Vault and others expect.
 */
import { badRequest, goSortedKeys, internalError, type ObjectMeta, type TokenReview, type UserInfo as ApiUserInfo } from '@boundtoken/api';
import { reviewedToken, type RequestAuthenticator } from '../auth/authenticate.js';
import type { AuthenticationResult, UserInfo } from '../auth/types.js';
import { answeredMetadata } from '../registry/metadata.js';
import { rfc3339 } from '../registry/registry.js';

/** user.Info as the review APIs answer it: extra keys sorted, as Go writes a map. */
export function apiUserInfo(user: UserInfo): ApiUserInfo {
  const out: ApiUserInfo = { username: user.name };
  if (user.uid) out.uid = user.uid;
  if (user.groups.length > 0) out.groups = [...user.groups];
  // most users' extras are made in that order already (one check, no sort); lists of strings are
  // copied directly, at a fraction of structuredClone's cost
  const keys = goSortedKeys(user.extra);
  if (keys.length > 0) {
    const extra: Record<string, string[]> = {};
    for (const k of keys) extra[k] = [...user.extra[k]!];
    out.extra = extra;
  }
  return out;
}

export interface TokenReviewAnswer {
  authenticated: boolean;
  /** The TokenReview to answer, as JSON (text or bytes). */
  body: string | Buffer;
}

/**
 * The answer last made for each successful result, with the spec it echoes: the authenticator
 * answers a cached result object again for the same token and audiences, and a review of them
 * with the same spec (and no metadata) is answered with the same bytes. Kept from the second
 * answer on, so that tokens reviewed once (most of a busy cache) hold no answer.
 */
const answered = new WeakMap<AuthenticationResult, { token: string; audiences: string[] | undefined; bytes: Buffer }>();
const answeredOnce = new WeakSet<AuthenticationResult>();

function sameStrings(a: string[] | undefined, b: string[] | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const DEFAULT_METADATA = '{"creationTimestamp":null}';

/**
 * The metadata a TokenReview answer gives back: what the create handler leaves of the request's,
 * without a namespace (a cluster-scoped kind, rest.EnsureObjectNamespaceMatchesRequestNamespace).
 */
function reviewMetadata(meta: ObjectMeta | undefined): string {
  // most reviews have none, or client-go's null creationTimestamp (decoded away)
  if (meta === undefined || Object.keys(meta).length === 0) return DEFAULT_METADATA;
  return JSON.stringify(answeredMetadata(meta, { namespace: undefined }));
}

/** A TokenReview answer up to its spec, with `metadata` (JSON). */
function reviewHead(metadata: string): string {
  return `{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","metadata":${metadata},"spec":`;
}

const REVIEW_HEAD = reviewHead(DEFAULT_METADATA);

/**
 * Reviews `body.spec.token`, as kube-apiserver does (tokenreview/storage.go): the token is read
 * as the request header `Authorization: Bearer <token>` would be, and the answer is the request
 * as decoded — `{kind, apiVersion, metadata, spec, status}`, metadata as the create handler
 * leaves it, the spec in Go's field order — with its status. For a successful result and no
 * metadata it is made once per spec.
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
  const metadata = reviewMetadata(body.metadata);
  const head = metadata === DEFAULT_METADATA ? REVIEW_HEAD : reviewHead(metadata);
  // TokenReviewSpec: token, then audiences (omitempty)
  const specJson = (): string => (requested ? `{"token":${JSON.stringify(token)},"audiences":${JSON.stringify(requested)}}` : `{"token":${JSON.stringify(token)}}`);
  // the token is authenticated without the request's context (storage.go's fake request): what
  // the authenticators warn about is not the review's answer
  const bearer = reviewedToken(token);
  // not a bearer token at all (a space before it): nobody's, and no error
  if (bearer === undefined) return { authenticated: false, body: `${head}${specJson()},"status":{"user":{}}}` };
  const result = await authenticator.authenticateToken(bearer, requested ?? apiAudiences);
  if (result.kind === 'ok') {
    const audiences = result.audiences ?? [];
    if (requested && !audiences.some((a) => requested.includes(a))) {
      throw internalError('error validating audiences');
    }
    const cacheable = head === REVIEW_HEAD;
    const last = cacheable ? answered.get(result) : undefined;
    if (last !== undefined && last.token === token && sameStrings(last.audiences, requested)) return { authenticated: true, body: last.bytes };
    const status = { authenticated: true, user: apiUserInfo(result.user), audiences };
    const bytes = Buffer.from(`${head}${specJson()},"status":${JSON.stringify(status)}}`);
    if (!cacheable) return { authenticated: true, body: bytes };
    if (answeredOnce.has(result)) answered.set(result, { token, audiences: requested, bytes });
    else answeredOnce.add(result);
    return { authenticated: true, body: bytes };
  }
  // a token no authenticator claims: the bearer token authenticator's default error
  const status = { user: {}, error: result.kind === 'error' ? result.message : 'invalid bearer token' };
  return { authenticated: false, body: `${head}${specJson()},"status":${JSON.stringify(status)}}` };
}

/** SelfSubjectReview (selfsubjectreview/rest.go): the caller, made now. */
export function selfSubjectReview(user: UserInfo, version: 'v1' | 'v1beta1', now: Date = new Date()): object {
  return {
    kind: 'SelfSubjectReview',
    apiVersion: `authentication.k8s.io/${version}`,
    metadata: { creationTimestamp: rfc3339(now) },
    status: { userInfo: apiUserInfo(user) },
  };
}
