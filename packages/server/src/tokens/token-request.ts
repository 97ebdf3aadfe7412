/**
 * TokenRequest: `POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token`, processed in
 * Kubernetes' order (reference/k8s-server.md §3): service account, defaults, validation,
 * admission, the bound object (Pod, Secret or Node) with its checks, the max-expiration cap, the
 * one-year extension of 3607 s pod-bound tokens, then signing on the worker pool.
 */
import {
  badRequest,
  conflict,
  field,
  internalError,
  goQuote,
  invalid,
  notFound,
  type BoundObjectReference,
  type KubeObject,
  type Node,
  type Pod,
  type Secret,
  type ServiceAccount,
  type TokenRequest,
} from '@boundtoken/api';
import { buildClaims, type ObjectRef, type SigningPool } from '@boundtoken/token';
import type { Registry } from '../registry/registry.js';
import { rfc3339 } from '../registry/registry.js';
import { answeredMetadata } from '../registry/metadata.js';
import type { OperationContext } from '../registry/types.js';
import { isValidPathSegmentName } from '../registry/validation/names.js';
import type { TokenConfig } from './config.js';

export const WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS = 60 * 60 + 7;
export const EXPIRATION_EXTENSION_SECONDS = 24 * 365 * 3600;
const MIN_EXPIRATION = 600;
const MAX_EXPIRATION = 2 ** 32;

const GK = { group: 'authentication.k8s.io', kind: 'TokenRequest' };

export interface TokenRequestDeps {
  registry: Registry;
  config: TokenConfig;
  pool: SigningPool;
}

/**
 * `schema.FromAPIVersionAndKind`'s group and version: `apps/v1` → apps, v1; `v1` → core, v1; an
 * apiVersion with more than one `/` does not parse and leaves both empty.
 */
function groupVersionOf(apiVersion: string | undefined): { group: string; version: string } {
  const parts = (apiVersion ?? '').split('/');
  if (parts.length === 1) return { group: '', version: parts[0]! };
  if (parts.length === 2) return { group: parts[0]!, version: parts[1]! };
  return { group: '', version: '' };
}

/** The bound object's name as the storage key function checks it (`NamespaceKeyFunc`): 400s. */
function checkObjectName(name: string): void {
  if (name === '') throw badRequest('Name parameter required.');
  const msgs = isValidPathSegmentName(name);
  if (msgs.length > 0) throw badRequest(`Name parameter invalid: ${goQuote(name)}: ${msgs.join(';')}`);
}

/**
 * Runs one TokenRequest. `body` is the decoded request; `ctx.user` is the caller. Returns the
 * response object and any `Warning` messages.
 */
export async function createToken(
  deps: TokenRequestDeps,
  ctx: OperationContext,
  namespace: string,
  name: string,
  body: TokenRequest,
): Promise<TokenRequest> {
  const { registry, config } = deps;
  if (!namespace) throw badRequest('namespace is required');
  const meta = body.metadata ?? {};
  if (meta.name && meta.name !== name) {
    throw invalid(GK, name, [field.invalid('metadata.name', meta.name, 'must match the service account name if specified')]);
  }
  if (meta.namespace && meta.namespace !== namespace) {
    throw invalid(GK, name, [field.invalid('metadata.namespace', meta.namespace, 'must match the service account namespace if specified')]);
  }
  const saDef = registry.def('', 'serviceaccounts')!;
  const sa = registry.get<ServiceAccount>(saDef, namespace, name);
  if (!sa) throw notFound({ group: '', resource: 'serviceaccounts' }, name);

  const spec = { ...(body.spec ?? {}) } as NonNullable<TokenRequest['spec']>;
  const audiences = spec.audiences && spec.audiences.length > 0 ? [...spec.audiences] : [...config.apiAudiences];
  let expirationSeconds = spec.expirationSeconds ?? 3600;
  const req: TokenRequest = {
    kind: 'TokenRequest',
    apiVersion: 'authentication.k8s.io/v1',
    // the request's own metadata (labels, annotations, …) is answered back, as Kubernetes does
    metadata: answeredMetadata(meta, { name, namespace, creationTimestamp: rfc3339(ctx.now) }),
    spec: {
      audiences,
      expirationSeconds,
      // answered as sent, empty fields omitted (omitempty); an absent reference is null (no omitempty)
      boundObjectRef: spec.boundObjectRef
        ? Object.fromEntries(Object.entries(spec.boundObjectRef).filter(([, v]) => v !== '' && v != null))
        : null,
    },
  };

  const errs = [];
  if (expirationSeconds < MIN_EXPIRATION) {
    errs.push(field.invalid('spec.expirationSeconds', expirationSeconds, 'may not specify a duration less than 10 minutes'));
  }
  if (expirationSeconds > MAX_EXPIRATION) {
    errs.push(field.invalid('spec.expirationSeconds', expirationSeconds, 'may not specify a duration larger than 2^32 seconds'));
  }
  if (errs.length > 0) throw invalid(GK, '', errs);

  await registry.admission.run({
    operation: 'CREATE',
    def: saDef,
    subresource: 'token',
    namespace,
    name,
    user: ctx.user,
    object: req as KubeObject,
    oldObject: sa,
    dryRun: ctx.dryRun,
  });

  let pod: ObjectRef | undefined;
  let secret: ObjectRef | undefined;
  let node: ObjectRef | undefined;
  const ref: BoundObjectReference | undefined = spec.boundObjectRef ?? undefined;
  if (ref) {
    const { group, version } = groupVersionOf(ref.apiVersion);
    const kind = ref.kind ?? '';
    let uid: string | undefined;
    const refName = ref.name ?? '';
    const bindable = group === '' && (kind === 'Pod' || kind === 'Node' || kind === 'Secret');
    if (bindable) checkObjectName(refName);
    if (group === '' && kind === 'Pod') {
      const p = registry.get<Pod>(registry.def('', 'pods')!, namespace, refName);
      if (!p) throw notFound({ group: '', resource: 'pods' }, refName);
      if ((p.spec?.serviceAccountName ?? '') !== name) {
        throw badRequest(`cannot bind token for serviceaccount "${name}" to pod running with different serviceaccount name.`);
      }
      uid = p.metadata!.uid!;
      pod = { name: refName, uid };
      const nodeName = p.spec?.nodeName;
      if (nodeName) {
        const n = registry.get<Node>(registry.def('', 'nodes')!, '', nodeName);
        // a missing node still names the node, without a uid
        node = n ? { name: nodeName, uid: n.metadata!.uid! } : { name: nodeName, uid: '' };
      }
    } else if (group === '' && kind === 'Node') {
      const n = registry.get<Node>(registry.def('', 'nodes')!, '', refName);
      if (!n) throw notFound({ group: '', resource: 'nodes' }, refName);
      uid = n.metadata!.uid!;
      node = { name: refName, uid };
    } else if (group === '' && kind === 'Secret') {
      const s = registry.get<Secret>(registry.def('', 'secrets')!, namespace, refName);
      if (!s) throw notFound({ group: '', resource: 'secrets' }, refName);
      uid = s.metadata!.uid!;
      secret = { name: refName, uid };
    } else {
      throw badRequest(`cannot bind token to object of type ${group}/${version}, Kind=${kind}`);
    }
    if (ref.uid && ref.uid !== uid) {
      throw conflict(
        { group: '', resource: kind },
        refName,
        `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
      );
    }
  }

  if (config.maxTokenExpirationSeconds > 0 && expirationSeconds > config.maxTokenExpirationSeconds) {
    ctx.warnings.push(`requested expiration of ${expirationSeconds} seconds shortened to ${config.maxTokenExpirationSeconds} seconds`);
    expirationSeconds = config.maxTokenExpirationSeconds;
    req.spec!.expirationSeconds = expirationSeconds;
  }

  let jwtExpiration = expirationSeconds;
  let warnAfterSeconds = 0;
  const apiAudiences = new Set(config.apiAudiences);
  if (
    config.extendTokenExpiration &&
    pod !== undefined &&
    expirationSeconds === WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS &&
    audiences.every((a) => apiAudiences.has(a))
  ) {
    warnAfterSeconds = WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS;
    jwtExpiration = EXPIRATION_EXTENSION_SECONDS;
  }

  const nowSeconds = Math.floor(ctx.now.getTime() / 1000);
  let token: string;
  try {
    const claims = buildClaims(
      {
        issuer: config.issuers[0]!,
        audiences,
        serviceAccount: { namespace, name, uid: sa.metadata!.uid! },
        ...(pod ? { pod } : {}),
        ...(secret ? { secret } : {}),
        ...(node ? { node } : {}),
        expirationSeconds: jwtExpiration,
        ...(warnAfterSeconds ? { warnAfterSeconds } : {}),
      },
      nowSeconds,
    );
    token = await deps.pool.sign(claims);
  } catch (err) {
    throw internalError(`failed to generate token: ${(err as Error).message}`);
  }
  req.status = { token, expirationTimestamp: rfc3339(new Date((nowSeconds + expirationSeconds) * 1000)) };
  return req;
}
