/**
 * Who is asking (authentication) and what they may do (authorization): the shapes every
 * authenticator, authorizer and admission step shares. Mirrors k8s.io/apiserver's user.Info and
 * authorizer.Attributes.
 */
import { SERVICE_ACCOUNTS_GROUP } from '@boundtoken/token';

/** user.Info: the identity a request runs as. */
export interface UserInfo {
  /** `admin`, `system:node:n1`, `system:serviceaccount:ns:sa`, `system:anonymous`, … */
  name: string;
  uid: string;
  /** Always ends with `system:authenticated` for authenticated users (the group adder). */
  groups: string[];
  extra: Record<string, string[]>;
}

export const GROUP_AUTHENTICATED = 'system:authenticated';
export const GROUP_UNAUTHENTICATED = 'system:unauthenticated';
export const GROUP_MASTERS = 'system:masters';
export const GROUP_NODES = 'system:nodes';
export const GROUP_SERVICE_ACCOUNTS = SERVICE_ACCOUNTS_GROUP;
export const USER_ANONYMOUS = 'system:anonymous';

/** What an authenticator says about a request's credentials. */
export type AuthenticationResult =
  /** The credentials are not this authenticator's (try the next one). */
  | { kind: 'none' }
  /** The credentials are this authenticator's and valid. */
  | { kind: 'ok'; user: UserInfo; audiences?: string[]; warnings?: readonly string[] }
  /** The credentials are this authenticator's and invalid. */
  | { kind: 'error'; message: string };

/** authorizer.Attributes: one request as the authorizers see it. */
export interface AuthorizationAttributes {
  user: UserInfo;
  /**
   * For resource requests: get, list, watch, create, update, patch, delete, deletecollection
   * (and impersonate, bind, escalate, approve …). For non-resource requests: the lower-case HTTP
   * method (`get`, `post`, `put`, …).
   */
  verb: string;
  resourceRequest: boolean;
  /** The URL path, for non-resource requests (`/healthz`, `/openid/v1/jwks`). */
  path: string;
  namespace: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  name: string;
  /**
   * The request's parsed `fieldSelector` / `labelSelector` requirements (list/watch/deletecollection),
   * for selector-aware authorization (Kubernetes' AuthorizeNodeWithSelectors, on by default in 1.32).
   * Undefined when the request had none.
   */
  fieldSelector?: SelectorRequirement[];
  labelSelector?: SelectorRequirement[];
}

/** One `key op value(s)` term of a field or label selector. */
export interface SelectorRequirement {
  key: string;
  operator: '=' | '!=' | 'in' | 'notin' | 'exists' | '!';
  values: string[];
}

export interface Decision {
  decision: 'allow' | 'deny' | 'noOpinion';
  /** Why, for the audit log and for `Forbidden` messages. */
  reason: string;
}

/** One link of the authorization chain (Node, RBAC, …); answers synchronously from caches. */
export interface Authorizer {
  authorize(attributes: AuthorizationAttributes): Decision;
}
