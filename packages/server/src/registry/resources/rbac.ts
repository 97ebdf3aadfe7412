/** rbac.authorization.k8s.io/v1 and coordination.k8s.io/v1 resources. */
import { field, type ClusterRole, type ClusterRoleBinding, type FieldError, type KubeObject, type Lease, type PolicyRule, type Role, type RoleBinding, type Subject } from '@boundtoken/api';
import { isDNS1123Subdomain, isValidPathSegmentName } from '../validation/names.js';
import type { ResourceDef } from '../types.js';
import { age, ageColumn, metaValidation, nameColumn, resource } from './common.js';

const RBAC = 'rbac.authorization.k8s.io';

function validateRules(rules: PolicyRule[] | undefined, fld: string, clusterScoped: boolean): FieldError[] {
  const errs: FieldError[] = [];
  (rules ?? []).forEach((r, i) => {
    const p = `${fld}[${i}]`;
    if (!r.verbs || r.verbs.length === 0) errs.push(field.required(`${p}.verbs`, 'verbs must contain at least one value'));
    const hasNonResource = (r.nonResourceURLs ?? []).length > 0;
    if (hasNonResource) {
      if (!clusterScoped) errs.push(field.invalid(`${p}.nonResourceURLs`, r.nonResourceURLs, 'namespaced rules cannot apply to non-resource URLs'));
      if ((r.apiGroups ?? []).length > 0 || (r.resources ?? []).length > 0) {
        errs.push(field.invalid(`${p}.nonResourceURLs`, r.nonResourceURLs, 'rules cannot apply to both regular resources and non-resource URLs'));
      }
      return;
    }
    if (!r.apiGroups || r.apiGroups.length === 0) errs.push(field.required(`${p}.apiGroups`, 'resource rules must supply at least one api group'));
    if (!r.resources || r.resources.length === 0) errs.push(field.required(`${p}.resources`, 'resource rules must supply at least one resource'));
  });
  return errs;
}

const subjectKinds = ['ServiceAccount', 'User', 'Group'];

function validateSubjects(subjects: Subject[] | undefined): FieldError[] {
  const errs: FieldError[] = [];
  (subjects ?? []).forEach((s, i) => {
    const p = `subjects[${i}]`;
    if (!s.name) errs.push(field.required(`${p}.name`));
    if (!subjectKinds.includes(s.kind)) errs.push(field.notSupported(`${p}.kind`, s.kind, subjectKinds));
    if (s.kind === 'ServiceAccount') {
      if (s.apiGroup) errs.push(field.notSupported(`${p}.apiGroup`, s.apiGroup, ['']));
      if (!s.namespace) errs.push(field.required(`${p}.namespace`));
    } else if ((s.kind === 'User' || s.kind === 'Group') && s.apiGroup !== RBAC) {
      errs.push(field.notSupported(`${p}.apiGroup`, s.apiGroup ?? '', [RBAC]));
    }
  });
  return errs;
}

function validateRoleRef(b: RoleBinding | ClusterRoleBinding, clusterScoped: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const ref = b.roleRef;
  if (!ref) return [field.required('roleRef')];
  if (ref.apiGroup !== RBAC) errs.push(field.notSupported('roleRef.apiGroup', ref.apiGroup, [RBAC]));
  const kinds = clusterScoped ? ['ClusterRole'] : ['Role', 'ClusterRole'];
  if (!kinds.includes(ref.kind)) errs.push(field.notSupported('roleRef.kind', ref.kind, kinds));
  if (!ref.name) errs.push(field.required('roleRef.name'));
  else for (const m of isValidPathSegmentName(ref.name)) errs.push(field.invalid('roleRef.name', ref.name, m));
  return errs;
}

function roleRefImmutable(b: RoleBinding | ClusterRoleBinding, old: RoleBinding | ClusterRoleBinding): FieldError[] {
  if (JSON.stringify(b.roleRef) === JSON.stringify(old.roleRef)) return [];
  return [field.invalid('roleRef', b.roleRef, 'cannot change roleRef')];
}

const createdAt = {
  columns: [nameColumn, { name: 'Created At', type: 'date' as const, description: ageColumn.description, priority: 0 }],
  cells: (o: KubeObject): unknown[] => [o.metadata?.name, o.metadata?.creationTimestamp ?? ''],
};

function bindingCells(b: RoleBinding | ClusterRoleBinding, now: Date): unknown[] {
  const of = (kind: string): string =>
    (b.subjects ?? [])
      .filter((s) => s.kind === kind)
      .map((s) => (kind === 'ServiceAccount' ? `${s.namespace ?? ''}/${s.name}` : s.name))
      .join(', ');
  return [b.metadata?.name, `${b.roleRef?.kind}/${b.roleRef?.name}`, age(b.metadata?.creationTimestamp, now), of('User'), of('Group'), of('ServiceAccount')];
}

const bindingColumns = [
  nameColumn,
  { name: 'Role', type: 'string' as const, description: 'RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.', priority: 0 },
  ageColumn,
  { name: 'Users', type: 'string' as const, description: 'Users in the binding', priority: 1 },
  { name: 'Groups', type: 'string' as const, description: 'Groups in the binding', priority: 1 },
  { name: 'ServiceAccounts', type: 'string' as const, description: 'ServiceAccounts in the binding', priority: 1 },
];

export const roles: ResourceDef<Role> = resource<Role>({
  group: RBAC,
  resource: 'roles',
  kind: 'Role',
  namespaced: true,
  ...metaValidation<Role>(true, isValidPathSegmentName, (r) => validateRules(r.rules, 'rules', false)),
  table: createdAt,
});

export const clusterRoles: ResourceDef<ClusterRole> = resource<ClusterRole>({
  group: RBAC,
  resource: 'clusterroles',
  kind: 'ClusterRole',
  namespaced: false,
  ...metaValidation<ClusterRole>(false, isValidPathSegmentName, (r) => validateRules(r.rules, 'rules', true)),
  table: createdAt,
});

export const roleBindings: ResourceDef<RoleBinding> = resource<RoleBinding>({
  group: RBAC,
  resource: 'rolebindings',
  kind: 'RoleBinding',
  namespaced: true,
  ...metaValidation<RoleBinding>(
    true,
    isValidPathSegmentName,
    (b) => [...validateRoleRef(b, false), ...validateSubjects(b.subjects)],
    roleRefImmutable,
  ),
  table: { columns: bindingColumns, cells: bindingCells },
});

export const clusterRoleBindings: ResourceDef<ClusterRoleBinding> = resource<ClusterRoleBinding>({
  group: RBAC,
  resource: 'clusterrolebindings',
  kind: 'ClusterRoleBinding',
  namespaced: false,
  ...metaValidation<ClusterRoleBinding>(
    false,
    isValidPathSegmentName,
    (b) => [...validateRoleRef(b, true), ...validateSubjects(b.subjects)],
    roleRefImmutable,
  ),
  table: { columns: bindingColumns, cells: bindingCells },
});

export const leases: ResourceDef<Lease> = resource<Lease>({
  group: 'coordination.k8s.io',
  resource: 'leases',
  kind: 'Lease',
  namespaced: true,
  ...metaValidation<Lease>(true, isDNS1123Subdomain, (l) => {
    const errs: FieldError[] = [];
    const d = l.spec?.leaseDurationSeconds;
    if (d !== undefined && d !== null && d <= 0) errs.push(field.invalid('spec.leaseDurationSeconds', d, 'must be greater than 0'));
    const t = l.spec?.leaseTransitions;
    if (t !== undefined && t !== null && t < 0) errs.push(field.invalid('spec.leaseTransitions', t, 'must be greater than or equal to 0'));
    return errs;
  }),
  table: {
    columns: [
      nameColumn,
      { name: 'Holder', type: 'string', description: 'holderIdentity contains the identity of the holder of a current lease.', priority: 0 },
      ageColumn,
    ],
    cells: (l, now) => [l.metadata?.name, l.spec?.holderIdentity ?? '', age(l.metadata?.creationTimestamp, now)],
  },
});

export const rbacResources = [roles, clusterRoles, roleBindings, clusterRoleBindings] as ResourceDef<KubeObject>[];
export const coordinationResources = [leases] as ResourceDef<KubeObject>[];
