/**
 * The claims of a bound service account token, built exactly as Kubernetes' `serviceaccount.Claims`
 * and `GenerateToken` build them (reference/k8s-server.md §1). Pure: the clock and the `jti` are
 * inputs. Serialised with the keys sorted at every level, as go-jose's builder writes them.
 */
import { randomUUID } from 'node:crypto';
import { TokenError } from './errors.js';
import { serializeSorted } from './lib/go-json.js';

export interface ObjectRef {
  name: string;
  uid: string;
}

export interface ClaimsInput {
  /** The first `--service-account-issuer`. */
  issuer: string;
  /** May be empty: `aud` is then omitted, as Kubernetes omits an empty audience list. */
  audiences: string[];
  serviceAccount: { namespace: string; name: string; uid: string };
  /** Pod binding; with `node` as well, the pod's node is recorded too (ServiceAccountTokenPodNodeInfo). */
  pod?: ObjectRef;
  /** Secret binding; cannot be combined with a pod or a node. */
  secret?: ObjectRef;
  /** Node binding (without a pod), or the pod's node (with a pod). */
  node?: ObjectRef;
  /** Lifetime of the JWT: `exp = now + expirationSeconds`. */
  expirationSeconds: number;
  /** `warnafter = now + warnAfterSeconds`, only when set and not 0. */
  warnAfterSeconds?: number;
  /** Default: crypto.randomUUID(). */
  jti?: string;
  /**
   * Feature gates, as of Kubernetes 1.32 (all on by default there): `jti` (ServiceAccountTokenJTI),
   * `podNodeInfo` (ServiceAccountTokenPodNodeInfo), `nodeBinding` (ServiceAccountTokenNodeBinding).
   */
  features?: { jti?: boolean; podNodeInfo?: boolean; nodeBinding?: boolean };
}

export interface KubernetesClaims {
  namespace: string;
  node?: ObjectRef;
  pod?: ObjectRef;
  secret?: ObjectRef;
  serviceaccount: ObjectRef;
  warnafter?: number;
}

export interface TokenClaims {
  aud?: string[];
  exp: number;
  iat: number;
  iss: string;
  jti?: string;
  'kubernetes.io': KubernetesClaims;
  nbf: number;
  sub: string;
}

export const SERVICE_ACCOUNT_USERNAME_PREFIX = 'system:serviceaccount:';

/** `system:serviceaccount:<namespace>:<name>` */
export function serviceAccountUsername(namespace: string, name: string): string {
  return `${SERVICE_ACCOUNT_USERNAME_PREFIX}${namespace}:${name}`;
}

export const SERVICE_ACCOUNTS_GROUP = 'system:serviceaccounts';

/** The groups of a service account's user (serviceaccount.MakeGroupNames), before `system:authenticated`. */
export function serviceAccountGroups(namespace: string): string[] {
  return [SERVICE_ACCOUNTS_GROUP, `${SERVICE_ACCOUNTS_GROUP}:${namespace}`];
}

/** user.Info extra keys of a service account token's user (serviceaccount/util.go, user/user.go). */
export const EXTRA_CREDENTIAL_ID = 'authentication.kubernetes.io/credential-id';
export const EXTRA_NODE_NAME = 'authentication.kubernetes.io/node-name';
export const EXTRA_NODE_UID = 'authentication.kubernetes.io/node-uid';
export const EXTRA_POD_NAME = 'authentication.kubernetes.io/pod-name';
export const EXTRA_POD_UID = 'authentication.kubernetes.io/pod-uid';

/**
 * The extras Kubernetes gives the user of verified claims: `credential-id` (`JTI=<jti>`), the node
 * named in the claims (with a pod, only copied from it), the pod when both its name and uid are
 * there. In sorted key order, the order Go's JSON encoder writes a map in.
 */
export function serviceAccountExtras(claims: TokenClaims): Record<string, string[]> {
  const k = claims['kubernetes.io'];
  const extra: Record<string, string[]> = {};
  if (claims.jti) extra[EXTRA_CREDENTIAL_ID] = [`JTI=${claims.jti}`];
  if (k.node?.name) {
    extra[EXTRA_NODE_NAME] = [k.node.name];
    if (k.node.uid) extra[EXTRA_NODE_UID] = [k.node.uid];
  }
  if (k.pod?.name && k.pod.uid) {
    extra[EXTRA_POD_NAME] = [k.pod.name];
    extra[EXTRA_POD_UID] = [k.pod.uid];
  }
  return extra;
}

/** A `ref` as Go marshals it: `name` and `uid` are `omitempty`. */
function ref(r: ObjectRef): ObjectRef {
  const out: Partial<ObjectRef> = {};
  if (r.name) out.name = r.name;
  if (r.uid) out.uid = r.uid;
  return out as ObjectRef;
}

function checkString(v: unknown, what: string): void {
  if (typeof v !== 'string') throw new TypeError(`buildClaims: ${what} must be a string`);
}

function checkRef(r: ObjectRef | undefined, what: string): void {
  if (r === undefined) return;
  if (typeof r !== 'object' || r === null) throw new TypeError(`buildClaims: ${what} must be an object`);
  checkString(r.name, `${what}.name`);
  checkString(r.uid, `${what}.uid`);
}

function checkInput(input: ClaimsInput, nowSeconds: number): void {
  if (typeof input !== 'object' || input === null) throw new TypeError('buildClaims: input must be an object');
  if (typeof input.issuer !== 'string' || input.issuer === '') throw new TypeError('buildClaims: issuer must be a non-empty string');
  if (!Array.isArray(input.audiences) || input.audiences.some((a) => typeof a !== 'string')) {
    throw new TypeError('buildClaims: audiences must be an array of strings');
  }
  const sa = input.serviceAccount;
  if (typeof sa !== 'object' || sa === null) throw new TypeError('buildClaims: serviceAccount must be an object');
  checkString(sa.namespace, 'serviceAccount.namespace');
  checkString(sa.name, 'serviceAccount.name');
  checkString(sa.uid, 'serviceAccount.uid');
  checkRef(input.pod, 'pod');
  checkRef(input.secret, 'secret');
  checkRef(input.node, 'node');
  if (!Number.isSafeInteger(input.expirationSeconds) || input.expirationSeconds < 0) {
    throw new TypeError('buildClaims: expirationSeconds must be an integer ≥ 0');
  }
  if (input.warnAfterSeconds !== undefined && !Number.isSafeInteger(input.warnAfterSeconds)) {
    throw new TypeError('buildClaims: warnAfterSeconds must be an integer');
  }
  if (input.jti !== undefined) checkString(input.jti, 'jti');
  if (!Number.isFinite(nowSeconds)) throw new TypeError('buildClaims: nowSeconds must be a finite number');
}

/**
 * The claims Kubernetes puts in a token for this request at `nowSeconds` (fractions dropped, as
 * `jwt.NewNumericDate` does). Keys are in sorted order at every level. Binding rules:
 * a secret with a pod or node → `internal error, token can only be bound to one object type`;
 * a node without a pod while node binding is off → the feature-gate error.
 */
export function buildClaims(input: ClaimsInput, nowSeconds: number): TokenClaims {
  checkInput(input, nowSeconds);
  const now = Math.floor(nowSeconds);
  const features = input.features ?? {};
  const { pod, secret, node } = input;

  if (secret !== undefined && (node !== undefined || pod !== undefined)) {
    throw new TokenError('ERR_TOKEN_BINDING_INVALID', 'internal error, token can only be bound to one object type');
  }
  if (pod === undefined && secret === undefined && node !== undefined && features.nodeBinding === false) {
    throw new TokenError(
      'ERR_TOKEN_BINDING_INVALID',
      'token bound to Node object requested, but "ServiceAccountTokenNodeBinding" feature gate is disabled',
    );
  }

  const sa = input.serviceAccount;
  const k8s: Partial<KubernetesClaims> = {};
  if (sa.namespace) k8s.namespace = sa.namespace;
  if (pod !== undefined) {
    if (node !== undefined && features.podNodeInfo !== false) k8s.node = ref(node);
    k8s.pod = ref(pod);
  } else if (secret !== undefined) {
    k8s.secret = ref(secret);
  } else if (node !== undefined) {
    k8s.node = ref(node);
  }
  k8s.serviceaccount = ref({ name: sa.name, uid: sa.uid });
  if (input.warnAfterSeconds) k8s.warnafter = now + input.warnAfterSeconds;

  const claims: Partial<TokenClaims> = {};
  if (input.audiences.length > 0) claims.aud = [...input.audiences];
  claims.exp = now + input.expirationSeconds;
  claims.iat = now;
  claims.iss = input.issuer;
  if (features.jti !== false) {
    const jti = input.jti ?? randomUUID();
    if (jti) claims.jti = jti;
  }
  claims['kubernetes.io'] = k8s as KubernetesClaims;
  claims.nbf = now;
  claims.sub = serviceAccountUsername(sa.namespace, sa.name);
  return claims as TokenClaims;
}

/** Canonical JSON of a claims object: keys sorted at every level, Go's escapes, no whitespace. */
export function serializeClaims(claims: object): string {
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
    throw new TypeError('serializeClaims: claims must be an object');
  }
  return serializeSorted(claims);
}
