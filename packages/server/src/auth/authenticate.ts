/**
 * The authentication chain for API requests: client certificate, then bearer token
 * authenticators (static tokens, service account tokens), then anonymous; then impersonation
 * (`Impersonate-User` / `-Group` / `-Uid` / `-Extra-*` headers), which the authorizer must allow.
 * The `system:authenticated` group is added to every authenticated user (the group adder).
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

function withAuthenticatedGroup(user: UserInfo): UserInfo {
  if (user.groups.includes(GROUP_AUTHENTICATED) || user.name === USER_ANONYMOUS) return user;
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

export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (!auth) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
  return m ? m[1] : undefined;
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

  /** Throws 401 for bad credentials (or none, without anonymous access). */
  async authenticate(socket: TLSSocket | undefined, headers: IncomingHttpHeaders): Promise<UserInfo> {
    // a certificate that does not verify is an authentication error: without another credential
    // it is a 401 even with anonymous access on (union.NewFailOnError(…, anonymous))
    let badCertificate = false;
    if (this.options.clientCertificates && socket && 'getPeerCertificate' in socket) {
      const user = userFromClientCertificate(socket);
      if (user) return withAuthenticatedGroup(user);
      badCertificate = !socket.authorized && Object.keys(socket.getPeerCertificate() ?? {}).length > 0;
    }
    const token = bearerToken(headers);
    if (token !== undefined) {
      const r = await this.authenticateToken(token, this.options.apiAudiences);
      if (r.kind === 'ok') return r.user;
      throw unauthorized();
    }
    if (headers.authorization || badCertificate) throw unauthorized();
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
  const finalGroups = [...groups];
  if (sa) {
    for (const g of [GROUP_SERVICE_ACCOUNTS, `${GROUP_SERVICE_ACCOUNTS}:${sa[1]}`]) if (!finalGroups.includes(g)) finalGroups.push(g);
  }
  if (asUser !== USER_ANONYMOUS && !finalGroups.includes(GROUP_AUTHENTICATED)) finalGroups.push(GROUP_AUTHENTICATED);
  if (asUser === USER_ANONYMOUS && !finalGroups.includes(GROUP_UNAUTHENTICATED)) finalGroups.push(GROUP_UNAUTHENTICATED);
  return {
    user: { name: asUser, uid: typeof uid === 'string' ? uid : '', groups: finalGroups, extra },
    impersonator: user,
  };
}
