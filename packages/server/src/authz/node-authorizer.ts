/**
 * The Node authorizer (plugin/pkg/auth/authorizer/node/node_authorizer.go, Kubernetes 1.32 with
 * AuthorizeNodeWithSelectors on): requests from `system:node:<name>` in group `system:nodes` are
 * subdivided by resource —
 *   secrets, configmaps          get/list/watch of a single named object referenced by a pod on the node
 *   pvcs, pvs, resourceclaims,
 *   volumeattachments            get of one referenced object (pvcs also update/patch status)
 *   serviceaccounts              create `token` for the service account of a pod on the node
 *   leases                       the node's own Lease in kube-node-lease
 *   nodes                        read its own Node; create/update/patch (NodeRestriction narrows these)
 *   pods                         get a pod bound to it; list/watch only with `spec.nodeName=<node>`;
 *                                create/delete (mirror pods), update status, create eviction
 * and every other request is checked against the static `system:node` rules. Other users get no opinion.
 */
import type { PolicyRule } from '@boundtoken/api';
import { GROUP_NODES } from '../auth/types.js';
import type { AuthorizationAttributes, Decision, UserInfo } from '../auth/types.js';
import { nodeRules } from './bootstrap-policy.js';
import { NodeGraph } from './node-graph.js';
import type { VertexType } from './node-graph.js';
import { rulesAllow } from './rule-match.js';
import { typedCache } from './types.js';
import type { NodeCaches, PodObject, ResolvingAuthorizer, RulesForResult } from './types.js';

export const NODE_USER_PREFIX = 'system:node:';
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

/** nodeidentifier.NodeIdentity: `system:node:<name>` in `system:nodes`; the name may be ''. */
export function nodeIdentity(user: UserInfo): { isNode: boolean; nodeName: string } {
  if (!user.name.startsWith(NODE_USER_PREFIX) || !user.groups.includes(GROUP_NODES)) return { isNode: false, nodeName: '' };
  return { isNode: true, nodeName: user.name.slice(NODE_USER_PREFIX.length) };
}

export interface NodeAuthorizer extends ResolvingAuthorizer {
  /** The reference index the decisions read (exposed for tests and metrics). */
  readonly graph: NodeGraph;
}

export interface NodeAuthorizerOptions {
  /** The static rules for resources not subdivided by the graph (default: the `system:node` rules). */
  rules?: PolicyRule[];
}

const allow: Decision = { decision: 'allow', reason: '' };
const noOpinion = (reason = ''): Decision => ({ decision: 'noOpinion', reason });

export function createNodeAuthorizer(caches: NodeCaches, options: NodeAuthorizerOptions = {}): NodeAuthorizer {
  const rules = options.rules ?? nodeRules();
  const graph = new NodeGraph();
  const podKey = (p: PodObject): [string, string] => [p.metadata?.namespace ?? '', p.metadata?.name ?? ''];
  const pods = typedCache<PodObject>(caches.pods);
  for (const pod of pods.list()) graph.setPod(pod);
  let unsubscribe: (() => void) | undefined = pods.subscribe({
    add: (pod) => graph.setPod(pod),
    update: (pod, old) => {
      const [ns, name] = podKey(old);
      if (ns !== pod.metadata?.namespace || name !== pod.metadata?.name) graph.deletePod(ns, name);
      graph.setPod(pod);
    },
    delete: (pod) => graph.deletePod(...podKey(pod)),
  });

  const noRelationship = (node: string): Decision => noOpinion(`no relationship found between node '${node}' and this object`);

  function related(node: string, type: VertexType, attrs: AuthorizationAttributes): Decision {
    if (!attrs.name) return noOpinion('No Object name found');
    return graph.hasPath(node, type, attrs.namespace, attrs.name) ? allow : noRelationship(node);
  }

  function get(node: string, type: VertexType, attrs: AuthorizationAttributes): Decision {
    if (attrs.verb !== 'get') return noOpinion('can only get individual resources of this type');
    if (attrs.subresource) return noOpinion('cannot get subresource');
    return related(node, type, attrs);
  }

  function readNamespaced(node: string, type: VertexType, attrs: AuthorizationAttributes): Decision {
    if (attrs.verb !== 'get' && attrs.verb !== 'list' && attrs.verb !== 'watch') {
      return noOpinion('can only read resources of this type');
    }
    if (attrs.subresource) return noOpinion('cannot read subresource');
    if (!attrs.namespace) return noOpinion('can only read namespaced object of this type');
    return related(node, type, attrs);
  }

  function statusUpdate(node: string, type: VertexType, attrs: AuthorizationAttributes): Decision {
    if (attrs.verb !== 'update' && attrs.verb !== 'patch') return noOpinion('can only get/update/patch this type');
    if (attrs.subresource !== 'status') return noOpinion('can only update status subresource');
    return related(node, type, attrs);
  }

  function createToken(node: string, attrs: AuthorizationAttributes): Decision {
    if (attrs.verb !== 'create' || !attrs.name) return noOpinion('can only create tokens for individual service accounts');
    if (attrs.subresource !== 'token') return noOpinion('can only create token subresource of serviceaccount');
    return graph.hasPath(node, 'serviceaccount', attrs.namespace, attrs.name) ? allow : noRelationship(node);
  }

  function lease(node: string, attrs: AuthorizationAttributes): Decision {
    if (!['get', 'create', 'update', 'patch', 'delete'].includes(attrs.verb)) {
      return noOpinion('can only get, create, update, patch, or delete a node lease');
    }
    if (attrs.namespace !== NODE_LEASE_NAMESPACE) {
      return noOpinion(`can only access leases in the "${NODE_LEASE_NAMESPACE}" system namespace`);
    }
    if (attrs.verb !== 'create' && attrs.name !== node) {
      return noOpinion('can only access node lease with the same name as the requesting node');
    }
    return allow;
  }

  function csiNode(node: string, attrs: AuthorizationAttributes): Decision {
    if (!['get', 'create', 'update', 'patch', 'delete'].includes(attrs.verb)) {
      return noOpinion('can only get, create, update, patch, or delete a CSINode');
    }
    if (attrs.subresource) return noOpinion('cannot authorize CSINode subresources');
    if (attrs.verb !== 'create' && attrs.name !== node) {
      return noOpinion('can only access CSINode with the same name as the requesting node');
    }
    return allow;
  }

  function resourceSlice(node: string, attrs: AuthorizationAttributes): Decision {
    if (attrs.subresource) return noOpinion('cannot authorize ResourceSlice subresources');
    switch (attrs.verb) {
      case 'create':
        return allow;
      case 'get':
      case 'update':
      case 'patch':
      case 'delete':
        return related(node, 'resourceslice', attrs);
      case 'watch':
      case 'list':
      case 'deletecollection':
        for (const r of attrs.fieldSelector ?? []) {
          if (r.key === 'nodeName' && r.operator === '=' && r.values[0] === node) return allow;
        }
        return noOpinion('can only list/watch/deletecollection resourceslices with nodeName field selector');
      default:
        return noOpinion(
          'only the following verbs are allowed for a ResourceSlice: get, watch, list, create, update, patch, delete, deletecollection',
        );
    }
  }

  function nodeObject(node: string, attrs: AuthorizationAttributes): Decision {
    if (attrs.subresource === '') {
      switch (attrs.verb) {
        case 'create':
        case 'update':
        case 'patch':
          // NodeRestriction admission limits these to the node's own object.
          return allow;
        case 'get':
        case 'list':
        case 'watch':
          if (attrs.name === node) return allow;
          if (attrs.name === '') return noOpinion(`node '${node}' cannot read all nodes, only its own Node object`);
          return noOpinion(`node '${node}' cannot read '${attrs.name}', only its own Node object`);
      }
    } else if (attrs.subresource === 'status' && (attrs.verb === 'update' || attrs.verb === 'patch')) {
      return allow;
    }
    return noOpinion();
  }

  function pod(node: string, attrs: AuthorizationAttributes): Decision {
    switch (attrs.subresource) {
      case '':
        switch (attrs.verb) {
          case 'get':
            return get(node, 'pod', attrs);
          case 'list':
          case 'watch':
            for (const r of attrs.fieldSelector ?? []) {
              if (r.key === 'spec.nodeName' && r.operator === '=' && r.values[0] === node) return allow;
            }
            if (attrs.name) return related(node, 'pod', attrs);
            return noOpinion('can only list/watch pods with spec.nodeName field selector');
          case 'create':
          case 'delete':
            // Mirror pods; NodeRestriction admission limits them to pods bound to this node.
            return allow;
        }
        break;
      case 'status':
        if (attrs.verb === 'update' || attrs.verb === 'patch') return allow;
        break;
      case 'eviction':
        if (attrs.verb === 'create') return allow;
        break;
    }
    return noOpinion();
  }

  return {
    graph,

    authorize(attrs: AuthorizationAttributes): Decision {
      const { isNode, nodeName } = nodeIdentity(attrs.user);
      if (!isNode) return noOpinion();
      if (!nodeName) return noOpinion(`unknown node for user "${attrs.user.name}"`);

      if (attrs.resourceRequest) {
        switch (`${attrs.apiGroup}/${attrs.resource}`) {
          case '/secrets':
            return readNamespaced(nodeName, 'secret', attrs);
          case '/configmaps':
            return readNamespaced(nodeName, 'configmap', attrs);
          case '/persistentvolumeclaims':
            if (attrs.subresource === 'status') return statusUpdate(nodeName, 'persistentvolumeclaim', attrs);
            return get(nodeName, 'persistentvolumeclaim', attrs);
          case '/persistentvolumes':
            return get(nodeName, 'persistentvolume', attrs);
          case 'resource.k8s.io/resourceclaims':
            return get(nodeName, 'resourceclaim', attrs);
          case 'storage.k8s.io/volumeattachments':
            return get(nodeName, 'volumeattachment', attrs);
          case '/serviceaccounts':
            return createToken(nodeName, attrs);
          case 'coordination.k8s.io/leases':
            return lease(nodeName, attrs);
          case 'storage.k8s.io/csinodes':
            return csiNode(nodeName, attrs);
          case 'resource.k8s.io/resourceslices':
            return resourceSlice(nodeName, attrs);
          case '/nodes':
            return nodeObject(nodeName, attrs);
          case '/pods':
            return pod(nodeName, attrs);
        }
      }
      return rulesAllow(attrs, rules) ? allow : noOpinion();
    },

    rulesFor(user: UserInfo): RulesForResult {
      const incomplete = nodeIdentity(user).isNode;
      return {
        resourceRules: [],
        nonResourceRules: [],
        incomplete,
        evaluationError: incomplete ? 'node authorizer does not support user rule resolution' : '',
      };
    },

    close(): void {
      unsubscribe?.();
      unsubscribe = undefined;
    },
  };
}
