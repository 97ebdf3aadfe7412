/**
 * Endpoints served by custom code rather than the generic registry: the token APIs
 * (`serviceaccounts/token`, `tokenreviews`, `selfsubjectreviews`), the access reviews, and
 * `pods/binding`. Each decodes its body (JSON, YAML or protobuf), answers 201 with its object.
 */
import { badRequest, methodNotRouted, pathNotFound, StatusError, type KubeObject, type TokenRequest, type TokenReview } from '@boundtoken/api';
import type { RequestAuthenticator } from '../auth/authenticate.js';
import {
  localSubjectAccessReview,
  selfSubjectAccessReview,
  selfSubjectRulesReview,
  subjectAccessReview,
  type AuthorizerChain,
} from '../authz/index.js';
import { BindingConflict, bindPod } from '../controllers/scheduler.js';
import type { ServedResource } from '../discovery/discovery.js';
import type { Registry } from '../registry/registry.js';
import { createToken, type TokenRequestDeps } from '../tokens/token-request.js';
import { selfSubjectReview, tokenReview, type TokenReviewAnswer } from '../tokens/reviews.js';
import type { CustomEndpoint } from './app.js';
import { checkDecoded, commonShape, parseBody, type CommonShape } from './body.js';
import type { ApiReply } from './exchange.js';
import { sendJson } from './respond.js';
import { operationContext, rawBody, storageUnavailable, type ResourceRequest } from './resources.js';

/**
 * The TokenReview bodies clients send: apiVersion, kind and spec.token, perhaps spec.audiences,
 * and client-go's `metadata: {"creationTimestamp": null}` and `status: {"user": {}}`.
 */
export const TOKEN_REVIEW_SHAPE = commonShape({ group: 'authentication.k8s.io', version: 'v1', kind: 'TokenReview' }, [
  'metadata.creationTimestamp',
  'spec.token',
  'spec.audiences',
  'status.user',
]);

/**
 * The TokenRequest bodies clients send: the agent's and client-go's (expiration, audiences, the
 * bound object; client-go adds a null creationTimestamp and an empty status).
 */
export const TOKEN_REQUEST_SHAPE = commonShape({ group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' }, [
  'metadata.name',
  'metadata.namespace',
  'metadata.creationTimestamp',
  'spec.audiences',
  'spec.expirationSeconds',
  'spec.boundObjectRef.kind',
  'spec.boundObjectRef.apiVersion',
  'spec.boundObjectRef.name',
  'spec.boundObjectRef.uid',
  'status.token',
  'status.expirationTimestamp',
]);

/** The request body as an object of `kind` (the body first, then the options: Kubernetes' order of errors). */
function decode(rr: ResourceRequest, group: string, version: string, kind: string, common?: CommonShape): KubeObject {
  const parsed = parseBody(rr.req.headers['content-type'], rawBody(rr.req), common);
  const ctx = operationContext(rr, '');
  return parsed.common ?? checkDecoded(parsed.value, parsed.duplicates, { group, version, kind }, ctx.fieldValidation, rr.warnings);
}

/**
 * Where kube-apiserver routes POST only (a create-only kind, or a subresource such as
 * serviceaccounts/token): another method is go-restful's 405; a path with no route at all (a name
 * under a create-only kind, its watch path) is 404.
 */
function checkCreateRoute(rr: ResourceRequest, subresource: boolean): void {
  if (!subresource && (rr.info.name !== '' || rr.info.path.includes('/watch/'))) throw pathNotFound();
  if (rr.info.verb !== 'create') throw methodNotRouted();
}

function createOnly(
  group: string,
  version: string,
  resource: string,
  subresource: string,
  kind: string,
  handle: (rr: ResourceRequest, body: KubeObject) => Promise<unknown> | unknown,
  common?: CommonShape,
): CustomEndpoint {
  return {
    group,
    version,
    resource,
    subresource,
    async handle(rr): Promise<ApiReply> {
      checkCreateRoute(rr, subresource !== '');
      const body = decode(rr, group, version, kind, common);
      const out = await handle(rr, body);
      return sendJson(rr.reply, 201, out, rr.warnings);
    },
  };
}

export interface EndpointDeps {
  registry: Registry;
  authenticator: RequestAuthenticator;
  authorizer: AuthorizerChain;
  tokens: TokenRequestDeps;
  apiAudiences: string[];
}

export function customEndpoints(d: EndpointDeps): { endpoints: CustomEndpoint[]; resources: ServedResource[] } {
  const AUTHN = 'authentication.k8s.io';
  const AUTHZ = 'authorization.k8s.io';
  const endpoints: CustomEndpoint[] = [
    {
      group: '',
      version: 'v1',
      resource: 'serviceaccounts',
      subresource: 'token',
      async handle(rr) {
        checkCreateRoute(rr, true);
        // as in kube-apiserver, a token is only issued against the current service account and pod
        if (rr.freshness === 'unavailable') throw storageUnavailable();
        // the body is an authentication.k8s.io/v1 TokenRequest, not a ServiceAccount
        const body = decode(rr, AUTHN, 'v1', 'TokenRequest', TOKEN_REQUEST_SHAPE) as TokenRequest;
        const ctx = operationContext(rr, 'token');
        const out = await createToken(d.tokens, ctx, rr.info.namespace, rr.info.name, body);
        return sendJson(rr.reply, 201, out, rr.warnings);
      },
    },
    createOnly(AUTHN, 'v1', 'tokenreviews', '', 'TokenReview', async (rr, body) => {
      const review = (): Promise<TokenReviewAnswer> => tokenReview(d.authenticator, d.apiAudiences, body as TokenReview, rr.info.namespace);
      let answer = await review();
      // the caches may lag the store a little (TOKEN_REVIEW_STALENESS_MS): a refusal is confirmed
      // against every write acknowledged before the review arrived (a pod just created through
      // another replica), so that a valid token is never refused
      if (!answer.authenticated && d.registry.sharedStore && rr.freshness !== 'unavailable' && (await d.registry.sync()) === 'fresh') answer = await review();
      return answer.body;
    }, TOKEN_REVIEW_SHAPE),
    createOnly(AUTHN, 'v1', 'selfsubjectreviews', '', 'SelfSubjectReview', (rr) => selfSubjectReview(rr.user, 'v1')),
    createOnly(AUTHN, 'v1beta1', 'selfsubjectreviews', '', 'SelfSubjectReview', (rr) => selfSubjectReview(rr.user, 'v1beta1')),
    createOnly(AUTHZ, 'v1', 'subjectaccessreviews', '', 'SubjectAccessReview', (_rr, body) => subjectAccessReview(body, d.authorizer)),
    createOnly(AUTHZ, 'v1', 'selfsubjectaccessreviews', '', 'SelfSubjectAccessReview', (rr, body) =>
      selfSubjectAccessReview(body, rr.user, d.authorizer),
    ),
    createOnly(AUTHZ, 'v1', 'localsubjectaccessreviews', '', 'LocalSubjectAccessReview', (rr, body) =>
      localSubjectAccessReview(body, rr.info.namespace, d.authorizer),
    ),
    createOnly(AUTHZ, 'v1', 'selfsubjectrulesreviews', '', 'SelfSubjectRulesReview', (rr, body) =>
      selfSubjectRulesReview(body, rr.user, d.authorizer),
    ),
    {
      group: '',
      version: 'v1',
      resource: 'pods',
      subresource: 'binding',
      async handle(rr) {
        checkCreateRoute(rr, true);
        if (rr.freshness === 'unavailable') throw storageUnavailable();
        const binding = decode(rr, '', 'v1', 'Binding') as KubeObject & { target?: { kind?: string; name?: string } };
        const target = binding.target;
        if (!target?.name) throw badRequest('target.name is required');
        if (target.kind && target.kind !== 'Node') throw badRequest(`target.kind must be Node, got ${target.kind}`);
        if (binding.metadata?.name && binding.metadata.name !== rr.info.name) {
          throw badRequest(`name in URL does not match name in Binding object`);
        }
        try {
          await bindPod(d.registry, rr.info.namespace, rr.info.name, target.name, binding.metadata?.uid, rr.user.name);
        } catch (err) {
          if (err instanceof BindingConflict) throw new StatusError(409, 'Conflict', `Operation cannot be fulfilled on pods/binding "${rr.info.name}": ${err.message}`);
          throw err;
        }
        return sendJson(rr.reply, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 }, rr.warnings);
      },
    },
  ];
  const review = (group: string, version: string, resource: string, kind: string, namespaced = false): ServedResource => ({
    group,
    version,
    resource,
    kind,
    singular: kind.toLowerCase(),
    namespaced,
    verbs: ['create'],
    shortNames: [],
    categories: [],
    subresources: [],
  });
  const resources: ServedResource[] = [
    review(AUTHN, 'v1', 'selfsubjectreviews', 'SelfSubjectReview'),
    review(AUTHN, 'v1', 'tokenreviews', 'TokenReview'),
    review(AUTHN, 'v1beta1', 'selfsubjectreviews', 'SelfSubjectReview'),
    review(AUTHZ, 'v1', 'localsubjectaccessreviews', 'LocalSubjectAccessReview', true),
    review(AUTHZ, 'v1', 'selfsubjectaccessreviews', 'SelfSubjectAccessReview'),
    review(AUTHZ, 'v1', 'selfsubjectrulesreviews', 'SelfSubjectRulesReview'),
    review(AUTHZ, 'v1', 'subjectaccessreviews', 'SubjectAccessReview'),
  ];
  return { endpoints, resources };
}
