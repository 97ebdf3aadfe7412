/**
 * RBAC housekeeping: the bootstrap policy reconciled at every start (missing roles and bindings
 * created, auto-updated ones brought up to date), and the ClusterRole aggregation controller that
 * keeps `admin`/`edit`/`view` (and any role with an aggregationRule) equal to the union of the
 * roles its selectors match.
 */
import { isStatusError, type ClusterRole, type ClusterRoleBinding, type KubeObject, type Role, type RoleBinding } from '@boundtoken/api';
import { bootstrapPolicy, clusterRoleAggregationUpdates, reconcileBootstrapPolicy, type BootstrapPolicyOptions } from '../authz/index.js';
import type { Registry } from '../registry/registry.js';
import { controllerContext } from './context.js';
import { WorkQueue } from './queue.js';

type Log = { warn: (o: object, m: string) => void; info: (o: object, m: string) => void };

export async function reconcileRbac(registry: Registry, options: BootstrapPolicyOptions, log: Log): Promise<void> {
  const existing = {
    clusterRoles: registry.cache<ClusterRole & KubeObject>('clusterroles').list(),
    clusterRoleBindings: registry.cache<ClusterRoleBinding & KubeObject>('clusterrolebindings').list(),
    roles: registry.cache<Role & KubeObject>('roles').list(),
    roleBindings: registry.cache<RoleBinding & KubeObject>('rolebindings').list(),
  };
  const actions = reconcileBootstrapPolicy(existing, bootstrapPolicy(options));
  const ctx = controllerContext('apiserver');
  let done = 0;
  for (const a of actions) {
    const def = registry.def('rbac.authorization.k8s.io', a.resource)!;
    const obj = a.object as KubeObject;
    const ns = obj.metadata?.namespace ?? '';
    const name = obj.metadata!.name!;
    try {
      if (a.op === 'create') await registry.create(def, ctx, ns, structuredClone(obj));
      else if (a.op === 'update') await registry.update(def, ctx, ns, name, structuredClone(obj));
      else {
        await registry.delete(def, ctx, ns, name, {});
        const fresh = structuredClone(obj);
        delete fresh.metadata!.resourceVersion;
        await registry.create(def, ctx, ns, fresh);
      }
      done++;
    } catch (err) {
      if (isStatusError(err) && (err.code === 409 || err.code === 404)) continue;
      log.warn({ err, resource: a.resource, name }, 'reconciling the bootstrap RBAC policy failed');
    }
  }
  if (done > 0) log.info({ changes: done }, 'bootstrap RBAC policy reconciled');
}

export function startClusterRoleAggregation(registry: Registry, log: Log): { stop(): void; idle(): Promise<void> } {
  const roles = registry.cache<ClusterRole & KubeObject>('clusterroles');
  const def = registry.def('rbac.authorization.k8s.io', 'clusterroles')!;
  const queue = new WorkQueue(
    async () => {
      for (const { name, rules } of clusterRoleAggregationUpdates(roles.list())) {
        await registry
          .guaranteedUpdate<ClusterRole & KubeObject>(def, controllerContext('clusterrole-aggregation-controller'), '', name, (r) => {
            r.rules = rules;
            return r;
          })
          .catch((err: unknown) => {
            if (!(isStatusError(err) && err.code === 404)) throw err;
          });
      }
    },
    { onError: (_key, err) => log.warn({ err }, 'aggregating cluster roles failed') },
  );
  const unsub = roles.subscribe({ add: () => queue.add('all'), update: () => queue.add('all'), delete: () => queue.add('all') });
  queue.add('all');
  return {
    stop() {
      unsub();
      queue.stop();
    },
    idle: () => queue.idle(),
  };
}
