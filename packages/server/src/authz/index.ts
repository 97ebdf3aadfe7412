/**
 * Authorization: RBAC, the Node authorizer, the bootstrap policy, access reviews, NodeRestriction
 * admission and RBAC escalation checks — Kubernetes 1.32 semantics.
 */
export { createRbacAuthorizer, subjectAppliesToUser, RBAC_GROUP } from './rbac.js';
export type { RbacAuthorizer, RbacOptions, RoleReferenceResult } from './rbac.js';
export { createNodeAuthorizer, nodeIdentity, NODE_USER_PREFIX, NODE_LEASE_NAMESPACE } from './node-authorizer.js';
export type { NodeAuthorizer, NodeAuthorizerOptions } from './node-authorizer.js';
export { NodeGraph } from './node-graph.js';
export type { VertexType } from './node-graph.js';
export { createNodeRestriction } from './node-restriction.js';
export type { NodeRestriction, NodeRestrictionLookup } from './node-restriction.js';
export {
  createAuthorizer,
  createUnionAuthorizer,
  createUnionRuleResolver,
  createPrivilegedGroupAuthorizer,
  createAlwaysAllowAuthorizer,
} from './union.js';
export type { AuthorizationMode, AuthorizerOptions, AuthorizerChain } from './union.js';
export { forbiddenReason, forbiddenError } from './forbidden.js';
export { ruleAllows, rulesAllow } from './rule-match.js';
export { covers, breakdownRule, compactRules, compactString } from './policy-compare.js';
export { checkRbacWrite } from './escalation.js';
export type { RbacObject } from './escalation.js';
export { aggregateClusterRole, clusterRoleAggregationUpdates, aggregateAll, ruleEquals, rulesEqual } from './aggregation.js';
export type { AggregationResult } from './aggregation.js';
export { compileLabelSelector } from './label-selector.js';
export {
  bootstrapPolicy,
  nodeRules,
  BOOTSTRAPPING_LABEL,
  BOOTSTRAPPING_VALUE,
  AUTO_UPDATE_ANNOTATION,
  AGGREGATE_TO_ADMIN,
  AGGREGATE_TO_EDIT,
  AGGREGATE_TO_VIEW,
  UNAUTHENTICATED_ISSUER_DISCOVERY_BINDING,
} from './bootstrap-policy.js';
export type { BootstrapPolicy, BootstrapPolicyOptions } from './bootstrap-policy.js';
export { reconcileBootstrapPolicy } from './reconcile.js';
export type { ReconcileAction, PolicyResource } from './reconcile.js';
export {
  subjectAccessReview,
  localSubjectAccessReview,
  selfSubjectAccessReview,
  selfSubjectRulesReview,
} from './access-review.js';
export type { AccessReviewResponse, AccessReviewStatus, RulesReviewResponse } from './access-review.js';
export { parseFieldSelector, parseLabelSelector } from './selectors.js';
export type { SelectorParse } from './selectors.js';
export type {
  RuleResolver,
  RulesForResult,
  ResolvingAuthorizer,
  RbacCaches,
  NodeCaches,
  RoleObject,
  ClusterRoleObject,
  RoleBindingObject,
  ClusterRoleBindingObject,
  PodObject,
  NodeObject,
} from './types.js';
