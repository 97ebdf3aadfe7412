/**
 * `VerifiedIdentity`: who a verified token belongs to, the same shape whether it came from the
 * token's own claims (offline) or from a TokenReview's user info (online).
 */
import type { TokenClaims } from '@boundtoken/token';

export interface ObjectIdentity {
  readonly name: string;
  readonly uid: string;
}

/**
 * Who a verified token belongs to. Results may be served from a cache and shared between calls:
 * treat them as read-only.
 */
export interface VerifiedIdentity {
  /** `system:serviceaccount:<namespace>:<name>` (the token's `sub`). */
  readonly subject: string;
  /** The service account's namespace. */
  readonly namespace: string;
  readonly serviceAccount: ObjectIdentity;
  /** The pod the token is bound to. */
  readonly pod?: ObjectIdentity;
  /** The node of that pod (or the node a node-bound token is bound to). */
  readonly node?: ObjectIdentity;
  /** The secret a secret-bound token is bound to (offline only: TokenReview does not report it). */
  readonly secret?: ObjectIdentity;
  /** The required audiences the token carries, in the order they were required. */
  readonly audiences: readonly string[];
  /** The token's unique id (`jti`). */
  readonly jti?: string;
  readonly expiresAt?: Date;
  readonly issuedAt?: Date;
  /** Kubernetes user info: username (= subject), groups and extra, as the API server reports them. */
  readonly username: string;
  readonly groups: readonly string[];
  readonly extra: Readonly<Record<string, readonly string[]>>;
  /** How it was verified. */
  readonly verifiedBy: 'offline' | 'online';
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export const EXTRA_POD_NAME = 'authentication.kubernetes.io/pod-name';
export const EXTRA_POD_UID = 'authentication.kubernetes.io/pod-uid';
export const EXTRA_NODE_NAME = 'authentication.kubernetes.io/node-name';
export const EXTRA_NODE_UID = 'authentication.kubernetes.io/node-uid';
export const EXTRA_CREDENTIAL_ID = 'authentication.kubernetes.io/credential-id';

const SA_PREFIX = 'system:serviceaccount:';

/** `system:serviceaccount:ns:name` → `{ namespace, name }`; undefined for any other username. */
export function parseServiceAccountUsername(username: string): { namespace: string; name: string } | undefined {
  if (!username.startsWith(SA_PREFIX)) return undefined;
  const parts = username.slice(SA_PREFIX.length).split(':');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return undefined;
  return { namespace: parts[0], name: parts[1] };
}

function groupsFor(namespace: string): string[] {
  return ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'];
}

/** The identity of verified claims, with the user info Kubernetes would derive from them. */
export function identityFromClaims(claims: TokenClaims, audiences: string[]): VerifiedIdentity {
  const k = claims['kubernetes.io'];
  const extra: Record<string, string[]> = {};
  if (k.pod?.name && k.pod.uid) {
    extra[EXTRA_POD_NAME] = [k.pod.name];
    extra[EXTRA_POD_UID] = [k.pod.uid];
  }
  if (k.node?.name) {
    extra[EXTRA_NODE_NAME] = [k.node.name];
    if (k.node.uid) extra[EXTRA_NODE_UID] = [k.node.uid];
  }
  if (claims.jti) extra[EXTRA_CREDENTIAL_ID] = [`JTI=${claims.jti}`];
  const username = `${SA_PREFIX}${k.namespace}:${k.serviceaccount.name}`;
  const id: Mutable<VerifiedIdentity> = {
    subject: claims.sub,
    namespace: k.namespace,
    serviceAccount: { name: k.serviceaccount.name, uid: k.serviceaccount.uid },
    audiences,
    username,
    groups: groupsFor(k.namespace),
    extra,
    verifiedBy: 'offline',
  };
  if (k.pod) id.pod = { name: k.pod.name, uid: k.pod.uid };
  if (k.node) id.node = { name: k.node.name, uid: k.node.uid };
  if (k.secret) id.secret = { name: k.secret.name, uid: k.secret.uid };
  if (claims.jti) id.jti = claims.jti;
  if (typeof claims.exp === 'number') id.expiresAt = new Date(claims.exp * 1000);
  if (typeof claims.iat === 'number') id.issuedAt = new Date(claims.iat * 1000);
  return id;
}

function first(extra: Record<string, string[]>, key: string): string | undefined {
  const v = extra[key];
  return Array.isArray(v) && typeof v[0] === 'string' && v[0] !== '' ? v[0] : undefined;
}

/** The identity of a TokenReview's `status.user` (plus exp/iat read from the authenticated token). */
export function identityFromUser(
  user: { username: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> },
  sa: { namespace: string; name: string },
  audiences: string[],
  times: { exp?: unknown; iat?: unknown },
): VerifiedIdentity {
  const extra = user.extra ?? {};
  const id: Mutable<VerifiedIdentity> = {
    subject: user.username,
    namespace: sa.namespace,
    serviceAccount: { name: sa.name, uid: user.uid ?? '' },
    audiences,
    username: user.username,
    groups: user.groups ?? [],
    extra,
    verifiedBy: 'online',
  };
  const podName = first(extra, EXTRA_POD_NAME);
  const podUid = first(extra, EXTRA_POD_UID);
  if (podName && podUid) id.pod = { name: podName, uid: podUid };
  const nodeName = first(extra, EXTRA_NODE_NAME);
  if (nodeName) id.node = { name: nodeName, uid: first(extra, EXTRA_NODE_UID) ?? '' };
  const credential = first(extra, EXTRA_CREDENTIAL_ID);
  if (credential?.startsWith('JTI=')) id.jti = credential.slice(4);
  if (typeof times.exp === 'number' && Number.isFinite(times.exp)) id.expiresAt = new Date(times.exp * 1000);
  if (typeof times.iat === 'number' && Number.isFinite(times.iat)) id.issuedAt = new Date(times.iat * 1000);
  return id;
}
