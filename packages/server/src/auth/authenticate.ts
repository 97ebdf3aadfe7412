/**
 * The authentication chain for API requests: client certificate, then bearer token
 * authenticators (static tokens, service account tokens), then anonymous; then impersonation
 * (`Impersonate-User` / `-Group` / `-Uid` / `-Extra-*` headers), which the authorizer must allow.
 * The `system:authenticated` group is added to every authenticated user that has neither it nor
 * `system:unauthenticated` (the group adder).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { StatusError, unauthorized } from '@boundtoken/api';
import { forbiddenError } from '../authz/forbidden.js';
import {
  GROUP_AUTHENTICATED,
  GROUP_SERVICE_ACCOUNTS,
  GROUP_UNAUTHENTICATED,
  USER_ANONYMOUS,
  type AuthenticationResult,
  type AuthorizationAttributes,
  type Authorizer,
  type UserInfo,
} from './types.js';
import { userFromClientCertificate } from './x509.js';

/** A bearer-token authenticator (synchronous from caches, or async). */
export interface TokenAuthenticator {
  readonly name: string;
  authenticate(token: string, audiences?: string[]): AuthenticationResult | Promise<AuthenticationResult>;
}

export interface RequestAuthenticatorOptions {
  clientCertificates: boolean;
  tokenAuthenticators: TokenAuthenticator[];
  anonymous: boolean;
  /** The API audiences requests are checked against (service account tokens). */
  apiAudiences?: string[];
}

export interface Authenticated {
  user: UserInfo;
  /** The user before impersonation, when impersonating. */
  impersonator?: UserInfo;
}

/**
 * Users and results with the group added, made once per authenticated user or result: the
 * authenticators answer the same objects again (a connection's certificate user, a cached token
 * result), and users and results are never changed once made.
 */
const withGroup = new WeakMap<UserInfo, UserInfo>();
const okWithGroup = new WeakMap<AuthenticationResult, AuthenticationResult>();

/** group/authenticated_group_adder.go: not for anonymous, nor a user in either group already. */
function withAuthenticatedGroup(user: UserInfo): UserInfo {
  if (user.name === USER_ANONYMOUS || user.groups.includes(GROUP_AUTHENTICATED) || user.groups.includes(GROUP_UNAUTHENTICATED)) return user;
  let added = withGroup.get(user);
  if (added === undefined) {
    added = { ...user, groups: [...user.groups, GROUP_AUTHENTICATED] };
    withGroup.set(user, added);
  }
  return added;
}

function resultWithAuthenticatedGroup(r: AuthenticationResult & { kind: 'ok' }): AuthenticationResult {
  let added = okWithGroup.get(r);
  if (added === undefined) {
    added = { ...r, user: withAuthenticatedGroup(r.user) };
    okWithGroup.set(r, added);
  }
  return added;
}

/** bearertoken.go's warning for a header with more than one space before the token, which it ignores. */
export const INVALID_TOKEN_WITH_SPACE_WARNING = 'the provided Authorization header contains extra space before the bearer token, and is ignored';

/** Go's unicode.IsSpace, for a code point. */
function isGoSpace(c: number): boolean {
  if (c < 0x100) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0x85 || c === 0xa0;
  return c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

/**
 * The length of the space at `s[i]` (text), or of the UTF-8 encoded space whose bytes start at
 * `s[i]` (bytes: a header value, which Node gives one Latin-1 character per byte); 0 if none.
 */
function spaceAt(s: string, i: number, bytes: boolean): number {
  const c = s.charCodeAt(i);
  if (c < 0x80 || !bytes) return isGoSpace(c) ? 1 : 0;
  const c1 = s.charCodeAt(i + 1);
  if (c === 0xc2) return c1 === 0x85 || c1 === 0xa0 ? 2 : 0;
  const c2 = s.charCodeAt(i + 2);
  if (c < 0xe1 || c > 0xe3 || (c1 & 0xc0) !== 0x80 || (c2 & 0xc0) !== 0x80) return 0;
  return isGoSpace(((c & 0x0f) << 12) | ((c1 & 0x3f) << 6) | (c2 & 0x3f)) ? 3 : 0;
}

/** The length of the space that ends `s` at `end` (not before `start`); 0 if none. */
function spaceBefore(s: string, start: number, end: number, bytes: boolean): number {
  if (spaceAt(s, end - 1, bytes) === 1) return 1;
  if (!bytes) return 0;
  // a UTF-8 encoded space is two or three bytes
  if (end - start >= 2 && spaceAt(s, end - 2, bytes) === 2) return 2;
  if (end - start >= 3 && spaceAt(s, end - 3, bytes) === 3) return 3;
  return 0;
}

/** strings.TrimSpace. */
function trimSpace(s: string, bytes: boolean): string {
  let start = 0;
  let end = s.length;
  while (start < end) {
    const n = spaceAt(s, start, bytes);
    if (n === 0) break;
    start += n;
  }
  while (end > start) {
    const n = spaceBefore(s, start, end, bytes);
    if (n === 0) break;
    end -= n;
  }
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/**
 * The bearer token of an `Authorization` header value, read as bearertoken.go reads it — the
 * value trimmed of white space, split at its first two spaces, the scheme `Bearer` in any case,
 * the token what lies between them — or undefined when the value is not a bearer token, or an
 * empty one ("not mine"). An empty token with something after it is a token with more spaces
 * before it, which Kubernetes ignores with a warning, added to `warnings`. TokenReview reads its
 * `spec.token` through this too, as `Bearer <token>` (tokenreview/storage.go). `bytes`: the value
 * is a request header as Node gives it, one Latin-1 character per byte.
 */
export function bearerToken(authorization: string | undefined, warnings?: string[], bytes = false): string | undefined {
  if (authorization === undefined) return undefined;
  const auth = trimSpace(authorization, bytes);
  // strings.SplitN(auth, " ", 3)
  const first = auth.indexOf(' ');
  if (first !== 6 || auth.slice(0, 6).toLowerCase() !== 'bearer') return undefined;
  const second = auth.indexOf(' ', 7);
  const token = second < 0 ? auth.slice(7) : auth.slice(7, second);
  if (token === '') {
    if (second >= 0) warnings?.push(INVALID_TOKEN_WITH_SPACE_WARNING);
    return undefined;
  }
  return token;
}

/**
 * TokenReview's `spec.token` as tokenreview/storage.go reads it: as the header `Authorization:
 * Bearer <token>`. A token with no space in it and none at its ends (every real one) is itself.
 */
export function reviewedToken(token: string): string | undefined {
  if (token.length > 0 && !isGoSpace(token.charCodeAt(0)) && !isGoSpace(token.charCodeAt(token.length - 1)) && !token.includes(' ')) return token;
  // what the parser would warn about is not the review's (storage.go's fake request has no recorder)
  return bearerToken(`Bearer ${token}`);
}

export class RequestAuthenticator {
  constructor(private readonly options: RequestAuthenticatorOptions) {}

  /** Authenticates one token against the token authenticators (TokenReview uses this too). */
  async authenticateToken(token: string, audiences?: string[]): Promise<AuthenticationResult> {
    const errors: string[] = [];
    for (const a of this.options.tokenAuthenticators) {
      const r = await a.authenticate(token, audiences);
      if (r.kind === 'ok') return resultWithAuthenticatedGroup(r);
      if (r.kind === 'error') errors.push(r.message);
    }
    if (errors.length === 0) return { kind: 'none' };
    const unique = [...new Set(errors)];
    return { kind: 'error', message: unique.length === 1 ? unique[0]! : `[${unique.join(', ')}]` };
  }

  /**
   * Throws 401 for bad credentials (or none, without anonymous access). Adds to `warnings` what
   * Kubernetes' authenticators warn about, for the response's `Warning` headers.
   */
  async authenticate(socket: TLSSocket | undefined, headers: IncomingHttpHeaders, warnings?: string[]): Promise<UserInfo> {
    // a certificate that does not verify is an authentication error: without another credential
    // it is a 401 even with anonymous access on (union.NewFailOnError(…, anonymous))
    let badCertificate = false;
    if (this.options.clientCertificates && socket && 'getPeerCertificate' in socket) {
      const user = userFromClientCertificate(socket);
      if (user) return withAuthenticatedGroup(user);
      badCertificate = !socket.authorized && Object.keys(socket.getPeerCertificate() ?? {}).length > 0;
    }
    const token = bearerToken(headers.authorization, warnings, true);
    if (token !== undefined) {
      const r = await this.authenticateToken(token, this.options.apiAudiences);
      if (r.kind === 'ok') {
        if (r.warnings) warnings?.push(...r.warnings);
        return r.user;
      }
      throw unauthorized();
    }
    // an Authorization header that is no bearer token (another scheme, a space too many) is no
    // credential: anonymous when allowed, as kube-apiserver's union with the anonymous authenticator
    if (badCertificate) throw unauthorized();
    if (this.options.anonymous) {
      return { name: USER_ANONYMOUS, uid: '', groups: [GROUP_UNAUTHENTICATED], extra: {} };
    }
    throw unauthorized();
  }
}

function headerList(headers: IncomingHttpHeaders, name: string): string[] {
  const v = headers[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
}

function impersonationAttrs(user: UserInfo, resource: string, name: string, apiGroup = '', namespace = '', subresource = ''): AuthorizationAttributes {
  return {
    user,
    verb: 'impersonate',
    resourceRequest: true,
    path: '',
    namespace,
    apiGroup,
    apiVersion: 'v1',
    resource,
    subresource,
    name,
  };
}

/**
 * Applies `Impersonate-*` headers (k8s.io/apiserver/pkg/endpoints/filters/impersonation.go):
 * every impersonated attribute must be allowed by the authorizer for the real user.
 */
export function impersonate(user: UserInfo, headers: IncomingHttpHeaders, authorizer: Authorizer): Authenticated {
  const asUser = headers['impersonate-user'];
  const groups = headerList(headers, 'impersonate-group');
  const uid = headers['impersonate-uid'];
  const extraKeys = Object.keys(headers).filter((h) => h.startsWith('impersonate-extra-'));
  if (asUser === undefined && groups.length === 0 && uid === undefined && extraKeys.length === 0) return { user };
  if (typeof asUser !== 'string' || asUser === '') {
    throw new StatusError(400, 'BadRequest', 'requested [' + [...groups.map((g) => `{Group ${g}}`)].join(' ') + '] without impersonating a user');
  }
  // a denial is answered like any other (responsewriters.Forbidden with the impersonation attributes)
  const check = (attrs: AuthorizationAttributes): void => {
    const d = authorizer.authorize(attrs);
    if (d.decision !== 'allow') throw forbiddenError(attrs, d.reason);
  };
  // given groups are the authority, without the service account's (impersonation.go, groupsSpecified)
  const groupsSpecified = headers['impersonate-group'] !== undefined;
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(asUser);
  if (sa) check(impersonationAttrs(user, 'serviceaccounts', sa[2]!, '', sa[1]!));
  else check(impersonationAttrs(user, 'users', asUser));
  for (const g of groups) check(impersonationAttrs(user, 'groups', g));
  if (typeof uid === 'string' && uid !== '') check(impersonationAttrs(user, 'uids', uid, 'authentication.k8s.io'));
  const extra: Record<string, string[]> = {};
  for (const h of extraKeys) {
    const key = decodeURIComponent(h.slice('impersonate-extra-'.length));
    const values = headerList(headers, h);
    for (const v of values) check(impersonationAttrs(user, 'userextras', v, 'authentication.k8s.io', '', key));
    extra[key] = values;
  }
  const finalGroups = sa && !groupsSpecified ? [GROUP_SERVICE_ACCOUNTS, `${GROUP_SERVICE_ACCOUNTS}:${sa[1]}`] : [...groups];
  if (asUser !== USER_ANONYMOUS) {
    if (!finalGroups.includes(GROUP_AUTHENTICATED) && !finalGroups.includes(GROUP_UNAUTHENTICATED)) finalGroups.push(GROUP_AUTHENTICATED);
  } else if (!finalGroups.includes(GROUP_UNAUTHENTICATED)) {
    finalGroups.push(GROUP_UNAUTHENTICATED);
  }
  return {
    user: { name: asUser, uid: typeof uid === 'string' ? uid : '', groups: finalGroups, extra },
    impersonator: user,
  };
}
