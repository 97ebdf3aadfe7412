/**
 * managedFields bookkeeping for ordinary writes (create, update, non-apply patches): every write
 * records the fields it set under its field manager, as Kubernetes does, so that server-side
 * apply sees real owners and reports real conflicts.
 */
import type { KubeObject } from '@boundtoken/api';
import { trackUpdate } from '@boundtoken/api/patch';
import type { OperationContext, ResourceDef } from './types.js';

export function trackManagedFields(def: ResourceDef, live: KubeObject | undefined, updated: KubeObject, ctx: OperationContext): void {
  if (ctx.managedFieldsDone || ctx.fieldManager === '') return;
  const tracked = trackUpdate(live, updated, {
    manager: ctx.fieldManager,
    operation: 'Update',
    ...(ctx.subresource ? { subresource: ctx.subresource } : {}),
    gvk: { group: def.group, version: def.version, kind: def.kind },
    now: ctx.now,
  });
  if (tracked.metadata?.managedFields) {
    (updated.metadata ??= {}).managedFields = tracked.metadata.managedFields;
  }
}
