/** The identity and options controllers write with. */
import type { OperationContext } from '../registry/types.js';
import { GROUP_AUTHENTICATED, GROUP_MASTERS } from '../auth/types.js';

export function controllerContext(name: string, subresource = ''): OperationContext {
  return {
    // the server's own controllers act with full rights, as kube-apiserver's loopback client does
    user: { name: `system:${name}`, uid: '', groups: [GROUP_MASTERS, GROUP_AUTHENTICATED], extra: {} },
    now: new Date(),
    dryRun: false,
    fieldManager: name,
    fieldValidation: 'Ignore',
    warnings: [],
    subresource,
  };
}
