/**
 * Response content negotiation as kubectl and client-go use it: `as=Table` for server-side
 * printing, `as=APIGroupDiscoveryList` for aggregated discovery. Bodies are always JSON (kubectl
 * accepts JSON even when it offers protobuf first).
 */

export interface AcceptedType {
  type: string;
  params: Record<string, string>;
}

export function parseAccept(header: string | undefined): AcceptedType[] {
  if (!header) return [];
  return header.split(',').map((part) => {
    const [type, ...rest] = part.split(';').map((s) => s.trim());
    const params: Record<string, string> = {};
    for (const p of rest) {
      const i = p.indexOf('=');
      if (i > 0) params[p.slice(0, i).trim().toLowerCase()] = p.slice(i + 1).trim().replace(/^"|"$/g, '');
    }
    return { type: (type ?? '').toLowerCase(), params };
  });
}

function jsonish(t: AcceptedType): boolean {
  return t.type === 'application/json' || t.type === '*/*' || t.type === 'application/*';
}

/** The Table version the client asks for (`v1` / `v1beta1`), if it prefers a Table. */
export function wantsTable(accept: AcceptedType[]): string | undefined {
  for (const t of accept) {
    if (t.type === 'application/json' && t.params.as === 'Table' && t.params.g === 'meta.k8s.io') {
      return t.params.v === 'v1beta1' ? 'v1beta1' : 'v1';
    }
    if (jsonish(t) && !t.params.as) return undefined;
  }
  return undefined;
}

export const AGGREGATED_DISCOVERY_V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
export const AGGREGATED_DISCOVERY_V2BETA1 = 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList';

/** `v2` / `v2beta1` when the client prefers aggregated discovery. */
export function wantsAggregatedDiscovery(accept: AcceptedType[]): 'v2' | 'v2beta1' | undefined {
  for (const t of accept) {
    if (t.type === 'application/json' && t.params.as === 'APIGroupDiscoveryList' && t.params.g === 'apidiscovery.k8s.io') {
      if (t.params.v === 'v2') return 'v2';
      if (t.params.v === 'v2beta1') return 'v2beta1';
    }
    if (jsonish(t) && !t.params.as) return undefined;
  }
  return undefined;
}

export function tableContentType(version: string): string {
  return `application/json;as=Table;v=${version};g=meta.k8s.io`;
}
