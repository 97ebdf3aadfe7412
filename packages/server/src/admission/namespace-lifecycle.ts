/**
 * NamespaceLifecycle admission (plugin/pkg/admission/namespace/lifecycle): objects cannot be
 * created in a namespace that does not exist or is terminating, and the system namespaces cannot
 * be deleted.
 */
import { forbidden, notFound, StatusError, type Namespace } from '@boundtoken/api';
import type { ObjectCache } from '../cache/types.js';
import type { AdmissionPlugin } from './types.js';

const IMMORTAL = new Set(['default', 'kube-system', 'kube-public']);
/** Requests that must work in any namespace state (reviews, tokens are sub-requests of existing objects). */
const EXEMPT_RESOURCES = new Set(['localsubjectaccessreviews']);

export function namespaceLifecycle(namespaces: ObjectCache<Namespace>): AdmissionPlugin {
  return {
    name: 'NamespaceLifecycle',
    validate(req) {
      if (req.def.resource === 'namespaces') {
        if (req.operation === 'DELETE' && IMMORTAL.has(req.name)) {
          throw forbidden({ group: '', resource: 'namespaces' }, req.name, 'this namespace may not be deleted');
        }
        return;
      }
      if (!req.def.namespaced || req.operation !== 'CREATE' || EXEMPT_RESOURCES.has(req.def.resource)) return;
      const ns = namespaces.get('', req.namespace);
      if (!ns) throw notFound({ group: '', resource: 'namespaces' }, req.namespace);
      if (ns.status?.phase === 'Terminating' || ns.metadata?.deletionTimestamp) {
        if (req.subresource !== '') return; // e.g. status of objects being cleaned up
        throw new StatusError(
          403,
          'Forbidden',
          `${req.def.resource} "${req.name}" is forbidden: unable to create new content in namespace ${req.namespace} because it is being terminated`,
          { name: req.name, kind: req.def.resource, causes: [{ reason: 'NamespaceTerminating', message: `namespace ${req.namespace} is being terminated`, field: 'metadata.namespace' }] },
        );
      }
    },
  };
}
