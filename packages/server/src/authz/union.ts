/**
 * The authorizer chain kube-apiserver builds (pkg/kubeapiserver/authorizer/config.go): first the
 * privileged-group authorizer (`system:masters` may do anything), then the configured modes in order.
 * The first allow or deny wins; when every link abstains the reasons are joined with newlines.
 */
import type { PolicyRule } from '@boundtoken/api';
import { GROUP_MASTERS } from '../auth/types.js';
import type { AuthorizationAttributes, Authorizer, Decision, UserInfo } from '../auth/types.js';
import { createNodeAuthorizer } from './node-authorizer.js';
import type { NodeAuthorizer } from './node-authorizer.js';
import { createRbacAuthorizer } from './rbac.js';
import type { RbacAuthorizer, RbacOptions } from './rbac.js';
import { aggregateMessages } from './text.js';
import type { NodeCaches, RbacCaches, ResolvingAuthorizer, RuleResolver, RulesForResult } from './types.js';

export function createUnionAuthorizer(authorizers: readonly Authorizer[]): Authorizer {
  const list = [...authorizers];
  return {
    authorize(attrs: AuthorizationAttributes): Decision {
      const reasons: string[] = [];
      for (const a of list) {
        const d = a.authorize(attrs);
        if (d.decision !== 'noOpinion') return d;
        if (d.reason) reasons.push(d.reason);
      }
      return { decision: 'noOpinion', reason: reasons.join('\n') };
    },
  };
}

/** The union rule resolver: every resolver's rules, incomplete if any is, errors aggregated. */
export function createUnionRuleResolver(resolvers: readonly RuleResolver[]): RuleResolver {
  const list = [...resolvers];
  return {
    rulesFor(user: UserInfo, namespace: string): RulesForResult {
      const out: RulesForResult = { resourceRules: [], nonResourceRules: [], incomplete: false, evaluationError: '' };
      const errors: string[] = [];
      for (const r of list) {
        const part = r.rulesFor(user, namespace);
        out.resourceRules.push(...part.resourceRules);
        out.nonResourceRules.push(...part.nonResourceRules);
        if (part.incomplete) out.incomplete = true;
        if (part.evaluationError) errors.push(part.evaluationError);
      }
      out.evaluationError = aggregateMessages(errors);
      return out;
    },
  };
}

/** Allows every request from a member of one of `groups` (authorizerfactory.NewPrivilegedGroups). */
export function createPrivilegedGroupAuthorizer(groups: readonly string[] = [GROUP_MASTERS]): Authorizer {
  const privileged = new Set(groups);
  return {
    authorize(attrs: AuthorizationAttributes): Decision {
      for (const g of attrs.user.groups) if (privileged.has(g)) return { decision: 'allow', reason: '' };
      return { decision: 'noOpinion', reason: '' };
    },
  };
}

const everything: PolicyRule[] = [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }];
const everyPath: PolicyRule[] = [{ verbs: ['*'], nonResourceURLs: ['*'] }];

/** The AlwaysAllow mode. */
export function createAlwaysAllowAuthorizer(): Authorizer & RuleResolver {
  return {
    authorize: () => ({ decision: 'allow', reason: '' }),
    rulesFor: () => ({
      resourceRules: everything.map((r) => ({ ...r })),
      nonResourceRules: everyPath.map((r) => ({ ...r })),
      incomplete: false,
      evaluationError: '',
    }),
  };
}

export type AuthorizationMode = 'Node' | 'RBAC' | 'AlwaysAllow';

export interface AuthorizerOptions {
  /** `--authorization-mode`, in order (Kubernetes' usual is `['Node', 'RBAC']`). */
  modes: readonly AuthorizationMode[];
  /** RBAC caches are needed for RBAC, the pod cache for Node. */
  caches: Partial<RbacCaches & NodeCaches>;
  rbac?: RbacOptions;
}

export interface AuthorizerChain extends ResolvingAuthorizer {
  /** The RBAC authorizer of the chain (for escalation checks), when RBAC is a mode. */
  readonly rbac: RbacAuthorizer | undefined;
  /** The Node authorizer of the chain, when Node is a mode. */
  readonly node: NodeAuthorizer | undefined;
}

const MODES: readonly string[] = ['Node', 'RBAC', 'AlwaysAllow'];

/**
 * The request authorizer: `system:masters` first, then each mode. Its `rulesFor` is the union of the
 * modes' rule resolvers (what SelfSubjectRulesReview answers).
 */
export function createAuthorizer(options: AuthorizerOptions): AuthorizerChain {
  const { modes, caches } = options;
  if (modes.length === 0) throw new TypeError('at least one authorization mode must be passed');
  const seen = new Set<string>();
  for (const m of modes) {
    if (!MODES.includes(m)) throw new TypeError(`authorization mode ${JSON.stringify(m)} is not supported`);
    if (seen.has(m)) throw new TypeError(`authorization mode ${JSON.stringify(m)} is specified more than once`);
    seen.add(m);
  }

  let rbac: RbacAuthorizer | undefined;
  let node: NodeAuthorizer | undefined;
  const authorizers: Authorizer[] = [createPrivilegedGroupAuthorizer()];
  const resolvers: RuleResolver[] = [];
  const closers: Array<() => void> = [];
  for (const mode of modes) {
    switch (mode) {
      case 'Node': {
        if (!caches.pods) throw new TypeError('the Node mode needs the pods cache');
        node = createNodeAuthorizer({ pods: caches.pods });
        authorizers.push(node);
        resolvers.push(node);
        closers.push(() => node?.close());
        break;
      }
      case 'RBAC': {
        const { roles, clusterRoles, roleBindings, clusterRoleBindings } = caches;
        if (!roles || !clusterRoles || !roleBindings || !clusterRoleBindings) {
          throw new TypeError('the RBAC mode needs the roles, clusterRoles, roleBindings and clusterRoleBindings caches');
        }
        rbac = createRbacAuthorizer({ roles, clusterRoles, roleBindings, clusterRoleBindings }, options.rbac);
        authorizers.push(rbac);
        resolvers.push(rbac);
        closers.push(() => rbac?.close());
        break;
      }
      case 'AlwaysAllow': {
        const allow = createAlwaysAllowAuthorizer();
        authorizers.push(allow);
        resolvers.push(allow);
        break;
      }
    }
  }

  const union = createUnionAuthorizer(authorizers);
  const resolver = createUnionRuleResolver(resolvers);
  return {
    authorize: (attrs) => union.authorize(attrs),
    rulesFor: (user, namespace) => resolver.rulesFor(user, namespace),
    rbac,
    node,
    close(): void {
      for (const close of closers.splice(0)) close();
    },
  };
}
