/**
 * Admission steps that come from the authorization module: NodeRestriction (what a node may
 * write) and RBAC's escalation checks (no granting of rights one does not hold).
 */
import type { ClusterRole, KubeObject, Node, Pod } from '@boundtoken/api';
import type { AuthorizationAttributes, Authorizer } from '../auth/types.js';
import { checkRbacWrite, createNodeRestriction, type RbacAuthorizer, type RbacObject } from '../authz/index.js';
import type { ObjectCache } from '../cache/types.js';
import type { AdmissionPlugin, AdmissionRequest } from './types.js';

function attrs(req: AdmissionRequest): AuthorizationAttributes {
  const verb = req.operation === 'CREATE' ? 'create' : req.operation === 'UPDATE' ? 'update' : req.operation === 'DELETE' ? 'delete' : 'connect';
  return {
    user: req.user,
    verb,
    resourceRequest: true,
    path: '',
    namespace: req.namespace,
    apiGroup: req.def.group,
    apiVersion: req.def.version,
    resource: req.def.resource,
    subresource: req.subresource,
    name: req.name,
  };
}

export function nodeRestrictionAdmission(pods: ObjectCache<Pod>, nodes: ObjectCache<Node>): AdmissionPlugin {
  const plugin = createNodeRestriction();
  return {
    name: 'NodeRestriction',
    validate(req) {
      plugin.admit(attrs(req), req.object, req.oldObject, { pods, nodes });
    },
  };
}

const RBAC_KINDS = new Set(['roles', 'clusterroles', 'rolebindings', 'clusterrolebindings']);

export function rbacEscalationAdmission(authorizer: Authorizer, rbac: () => RbacAuthorizer | undefined): AdmissionPlugin {
  return {
    name: 'RBACEscalation',
    validate(req) {
      if (req.def.group !== 'rbac.authorization.k8s.io' || !RBAC_KINDS.has(req.def.resource)) return;
      if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return;
      const r = rbac();
      if (!r || !req.object) return;
      checkRbacWrite(req.user, req.object as KubeObject as RbacObject, authorizer, r, req.oldObject as RbacObject | undefined as (ClusterRole & RbacObject) | undefined);
    },
  };
}
