/**
 * `VerifiedIdentity`: who a verified token belongs to, the same shape whether it came from the
 * token's own claims (offline) or from a TokenReview's user info (online).
 */
import {
  EXTRA_CREDENTIAL_ID,
  EXTRA_NODE_NAME,
  EXTRA_NODE_UID,
  EXTRA_POD_NAME,
  EXTRA_POD_UID,
  SERVICE_ACCOUNT_USERNAME_PREFIX,
  serviceAccountExtras,
  serviceAccountGroups,
  serviceAccountUsername,
  type TokenClaims,
} from '@boundtoken/token';

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

/** `system:serviceaccount:ns:name` → `{ namespace, name }`; undefined for any other username. */
export function parseServiceAccountUsername(username: string): { namespace: string; name: string } | undefined {
  if (!username.startsWith(SERVICE_ACCOUNT_USERNAME_PREFIX)) return undefined;
  const parts = username.slice(SERVICE_ACCOUNT_USERNAME_PREFIX.length).split(':');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return undefined;
  return { namespace: parts[0], name: parts[1] };
}

/** The identity of verified claims, with the user info Kubernetes would derive from them. */
export function identityFromClaims(claims: TokenClaims, audiences: string[]): VerifiedIdentity {
  const k = claims['kubernetes.io'];
  const id: Mutable<VerifiedIdentity> = {
    subject: claims.sub,
    namespace: k.namespace,
    serviceAccount: { name: k.serviceaccount.name, uid: k.serviceaccount.uid },
    audiences,
    username: serviceAccountUsername(k.namespace, k.serviceaccount.name),
    groups: [...serviceAccountGroups(k.namespace), 'system:authenticated'],
    extra: serviceAccountExtras(claims),
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
