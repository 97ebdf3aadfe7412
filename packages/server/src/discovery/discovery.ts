/**
 * API discovery documents: legacy (`/api`, `/apis`, `/api/v1`, `/apis/<g>/<v>`) and aggregated
 * (`apidiscovery.k8s.io/v2`, one request for everything), built once from the served resources.
 */
import { createHash } from 'node:crypto';

export interface ServedSubresource {
  name: string;
  kind: string;
  group?: string;
  version?: string;
  verbs: string[];
}

export interface ServedResource {
  group: string;
  version: string;
  resource: string;
  kind: string;
  singular: string;
  namespaced: boolean;
  verbs: string[];
  shortNames: string[];
  categories: string[];
  subresources: ServedSubresource[];
}

export interface GroupVersion {
  group: string;
  version: string;
}

function storageVersionHash(group: string, version: string, kind: string): string {
  return createHash('sha256').update(`${group}/${version}/${kind}`).digest().subarray(0, 8).toString('base64');
}

function gvString(gv: GroupVersion): string {
  return gv.group ? `${gv.group}/${gv.version}` : gv.version;
}

/** The group versions in serving order: core first, then groups alphabetically. */
export function groupVersions(resources: ServedResource[]): GroupVersion[] {
  const seen = new Map<string, GroupVersion>();
  for (const r of resources) seen.set(`${r.group}/${r.version}`, { group: r.group, version: r.version });
  return [...seen.values()].sort((a, b) => {
    if (a.group === '' && b.group !== '') return -1;
    if (b.group === '' && a.group !== '') return 1;
    if (a.group !== b.group) return a.group < b.group ? -1 : 1;
    // v1 before v1beta1
    return a.version.length - b.version.length || (a.version < b.version ? -1 : 1);
  });
}

export class Discovery {
  private readonly resources: ServedResource[];
  private readonly gvs: GroupVersion[];
  private readonly resourceLists = new Map<string, string>();
  readonly apiVersionsJson: (serverAddress: string) => string;
  readonly apiGroupListJson: string;
  readonly aggregatedCore: Record<'v2' | 'v2beta1', string>;
  readonly aggregatedGroups: Record<'v2' | 'v2beta1', string>;
  /** Per group, for `/apis/<group>`. */
  private readonly groupJson = new Map<string, string>();

  constructor(resources: ServedResource[]) {
    this.resources = resources;
    this.gvs = groupVersions(resources);
    for (const gv of this.gvs) this.resourceLists.set(gvString(gv), JSON.stringify(this.apiResourceList(gv)));
    this.apiVersionsJson = (serverAddress) =>
      JSON.stringify({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] });
    const groups = this.apiGroups();
    this.apiGroupListJson = JSON.stringify({ kind: 'APIGroupList', apiVersion: 'v1', groups });
    for (const g of groups) this.groupJson.set(g.name, JSON.stringify({ kind: 'APIGroup', apiVersion: 'v1', ...g }));
    this.aggregatedCore = {
      v2: JSON.stringify(this.aggregated('v2', true)),
      v2beta1: JSON.stringify(this.aggregated('v2beta1', true)),
    };
    this.aggregatedGroups = {
      v2: JSON.stringify(this.aggregated('v2', false)),
      v2beta1: JSON.stringify(this.aggregated('v2beta1', false)),
    };
  }

  all(): ServedResource[] {
    return this.resources;
  }

  groupVersions(): GroupVersion[] {
    return this.gvs;
  }

  find(group: string, version: string, resource: string): ServedResource | undefined {
    return this.resources.find((r) => r.group === group && r.version === version && r.resource === resource);
  }

  /** `/api/v1` or `/apis/<g>/<v>` body, or undefined when not served. */
  resourceListJson(group: string, version: string): string | undefined {
    return this.resourceLists.get(gvString({ group, version }));
  }

  groupJsonFor(group: string): string | undefined {
    return this.groupJson.get(group);
  }

  private apiResourceList(gv: GroupVersion): object {
    const resources: object[] = [];
    for (const r of this.resources.filter((x) => x.group === gv.group && x.version === gv.version)) {
      resources.push({
        name: r.resource,
        singularName: r.singular,
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: r.verbs,
        ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
        ...(r.categories.length ? { categories: r.categories } : {}),
        ...(r.verbs.includes('get') || r.verbs.includes('list') ? { storageVersionHash: storageVersionHash(r.group, r.version, r.kind) } : {}),
      });
      for (const s of r.subresources) {
        resources.push({
          name: `${r.resource}/${s.name}`,
          singularName: '',
          namespaced: r.namespaced,
          ...(s.group !== undefined ? { group: s.group } : {}),
          ...(s.version !== undefined ? { version: s.version } : {}),
          kind: s.kind,
          verbs: s.verbs,
        });
      }
    }
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gvString(gv), resources };
  }

  private apiGroups(): { name: string; versions: object[]; preferredVersion: object }[] {
    const byGroup = new Map<string, string[]>();
    for (const gv of this.gvs) {
      if (gv.group === '') continue;
      const list = byGroup.get(gv.group) ?? [];
      list.push(gv.version);
      byGroup.set(gv.group, list);
    }
    return [...byGroup.entries()].map(([name, versions]) => ({
      name,
      versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
      preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
    }));
  }

  private aggregated(apiVersion: 'v2' | 'v2beta1', core: boolean): object {
    const groups = new Map<string, GroupVersion[]>();
    for (const gv of this.gvs) {
      if ((gv.group === '') !== core) continue;
      const list = groups.get(gv.group) ?? [];
      list.push(gv);
      groups.set(gv.group, list);
    }
    const items = [...groups.entries()].map(([group, gvs]) => ({
      metadata: { name: group, creationTimestamp: null },
      versions: gvs.map((gv) => ({
        version: gv.version,
        resources: this.resources
          .filter((r) => r.group === gv.group && r.version === gv.version)
          .map((r) => ({
            resource: r.resource,
            responseKind: { group: r.group, version: r.version, kind: r.kind },
            scope: r.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: r.singular,
            verbs: r.verbs,
            ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
            ...(r.categories.length ? { categories: r.categories } : {}),
            ...(r.subresources.length
              ? {
                  subresources: r.subresources.map((s) => ({
                    subresource: s.name,
                    responseKind: { group: s.group ?? r.group, version: s.version ?? r.version, kind: s.kind },
                    verbs: s.verbs,
                  })),
                }
              : {}),
          })),
        freshness: 'Current',
      })),
    }));
    return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${apiVersion}`, metadata: {}, items };
  }
}
