/**
 * Leader election over a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it:
 * a candidate takes the Lease when it is free or expired, renews it every `retryPeriod`, and gives
 * up leadership when it cannot renew within `renewDeadline`. Optimistic concurrency on the Lease
 * makes sure only one replica holds it; the controllers that must run once run only there.
 */
import { isStatusError, type Lease } from '@boundtoken/api';
import type { Registry } from '../registry/registry.js';
import { controllerContext } from './context.js';

export interface LeaderElectionOptions {
  registry: Registry;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  onNewLeader?: (identity: string) => void;
  log: { info: (o: object, m: string) => void; warn: (o: object, m: string) => void };
}

export interface LeaderElector {
  isLeader(): boolean;
  /** Steps down (releasing the Lease so another replica takes over at once) and stops. */
  stop(): Promise<void>;
}

/** RFC 3339 with microseconds (Lease times are MicroTime). */
function microTime(d: Date): string {
  return d.toISOString().replace(/Z$/, '000Z');
}

/** `p`, or a rejection after `ms` (a hung store must not hold up stepping down or stopping). */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the store within ${ms} ms`)), Math.max(0, ms));
  });
  p.catch(() => undefined);
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}

export function startLeaderElection(o: LeaderElectionOptions): LeaderElector {
  const leaseDuration = o.leaseDurationSeconds ?? 15;
  const renewDeadline = o.renewDeadlineMs ?? 10_000;
  const retryPeriod = o.retryPeriodMs ?? 2_000;
  const def = o.registry.def('coordination.k8s.io', 'leases')!;
  const ctx = (): ReturnType<typeof controllerContext> => controllerContext('leader-election');
  let leader = false;
  let stopped = false;
  let lastRenew = 0;
  let observedHolder = '';
  let timer: NodeJS.Timeout | undefined;
  /** The acquire-or-renew round in progress. */
  let round: Promise<void> = Promise.resolve();

  const becomeFollower = (): void => {
    if (!leader) return;
    leader = false;
    o.log.warn({ lease: `${o.namespace}/${o.name}`, identity: o.identity }, 'lost leadership');
    o.onStoppedLeading();
  };

  /** One attempt to acquire or renew; true when this replica holds the Lease afterwards. */
  const tryAcquireOrRenew = async (): Promise<boolean> => {
    const now = new Date();
    const existing = o.registry.get<Lease>(def, o.namespace, o.name) ?? (await o.registry.getFresh<Lease>(def, o.namespace, o.name));
    if (!existing) {
      const lease: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: o.name, namespace: o.namespace },
        spec: {
          holderIdentity: o.identity,
          leaseDurationSeconds: leaseDuration,
          acquireTime: microTime(now),
          renewTime: microTime(now),
          leaseTransitions: 0,
        },
      };
      await o.registry.create(def, ctx(), o.namespace, lease);
      return true;
    }
    const spec = existing.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewedAt = spec.renewTime ? Date.parse(spec.renewTime) : 0;
    const expired = renewedAt + (spec.leaseDurationSeconds ?? leaseDuration) * 1000 < now.getTime();
    if (holder !== observedHolder) {
      observedHolder = holder;
      if (holder) o.onNewLeader?.(holder);
    }
    if (holder && holder !== o.identity && !expired) return false;
    const { object } = await o.registry.guaranteedUpdate<Lease>(def, ctx(), o.namespace, o.name, (l) => {
      // pinned to the version we judged: if someone else renewed meanwhile, the update conflicts
      l.metadata!.resourceVersion = existing.metadata!.resourceVersion!;
      const s = (l.spec ??= {});
      if (s.holderIdentity !== o.identity) {
        // as client-go: every acquisition by another candidate is a transition, after a release too
        s.leaseTransitions = (s.leaseTransitions ?? 0) + 1;
        s.acquireTime = microTime(now);
      }
      s.holderIdentity = o.identity;
      s.leaseDurationSeconds = leaseDuration;
      s.renewTime = microTime(now);
      return l;
    });
    return object.spec?.holderIdentity === o.identity;
  };

  const loop = async (): Promise<void> => {
    if (stopped) return;
    try {
      // a leader steps down at the renew deadline however long the store takes to answer
      const held = await within(tryAcquireOrRenew(), leader ? lastRenew + renewDeadline - Date.now() : renewDeadline);
      // stop() came meanwhile: it gives back what this round may have taken
      if (stopped) return;
      if (held) {
        lastRenew = Date.now();
        if (!leader) {
          leader = true;
          o.log.info({ lease: `${o.namespace}/${o.name}`, identity: o.identity }, 'became leader');
          o.onStartedLeading();
        }
      } else {
        becomeFollower();
      }
    } catch (err) {
      if (stopped) return;
      if (!(isStatusError(err) && err.code === 409)) {
        o.log.warn({ err: (err as Error).message }, 'leader election: acquiring or renewing the lease failed');
      }
      if (leader && Date.now() - lastRenew >= renewDeadline) becomeFollower();
    }
    if (!stopped) {
      timer = setTimeout(() => (round = loop()), retryPeriod);
      timer.unref();
    }
  };
  round = loop();

  return {
    isLeader: () => leader,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      becomeFollower();
      // a round in flight may be taking the Lease right now (a first acquisition too): let it end
      await round;
      // release: an expired renew time lets the next candidate take over without waiting (a no-op
      // without a write unless this replica holds the Lease)
      try {
        await within(
          o.registry.guaranteedUpdate<Lease>(def, ctx(), o.namespace, o.name, (l) => {
            if (l.spec?.holderIdentity !== o.identity) return undefined;
            l.spec.holderIdentity = '';
            l.spec.renewTime = microTime(new Date(0));
            return l;
          }),
          renewDeadline,
        );
      } catch {
        // the lease will expire on its own
      }
    },
  };
}
