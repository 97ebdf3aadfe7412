/**
 * Which objects each node may reach through the pods bound to it: the Node authorizer's graph
 * (plugin/pkg/auth/authorizer/node/graph.go), kept as a reference-counted index from
 * `(type, namespace, name)` to node names, maintained incrementally from pod events. A lookup is two
 * map reads, however many pods exist.
 *
 *   node <- pod                 node <- pod <- secret / configmap / serviceaccount
 *   node <- pod <- pvc          node <- pod <- resourceclaim
 *
 * Mirror pods only link themselves: a node must not gain access to objects by creating a pod.
 */
import type { Pod } from '@boundtoken/api';
import {
  isMirrorPod,
  podClaimNames,
  podConfigMapNames,
  podResourceClaimNames,
  podSecretNames,
} from './pod-references.js';

export type VertexType =
  | 'pod'
  | 'secret'
  | 'configmap'
  | 'serviceaccount'
  | 'persistentvolumeclaim'
  | 'persistentvolume'
  | 'resourceclaim'
  | 'volumeattachment'
  | 'resourceslice';

function vertexKey(type: VertexType, namespace: string, name: string): string {
  return `${type}\0${namespace}\0${name}`;
}

export class NodeGraph {
  /** vertex -> node name -> number of pod references. */
  private readonly edges = new Map<string, Map<string, number>>();
  /** `namespace/name` of a pod -> what it contributed, to undo on update or delete. */
  private readonly pods = new Map<string, { node: string; vertices: string[] }>();

  /** Adds or replaces a pod; pods not bound to a node contribute nothing. */
  setPod(pod: Pod): void {
    const ns = pod.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? '';
    this.deletePod(ns, name);
    const node = pod.spec?.nodeName;
    if (!node) return;

    const vertices = [vertexKey('pod', ns, name)];
    if (!isMirrorPod(pod)) {
      if (pod.spec?.serviceAccountName) vertices.push(vertexKey('serviceaccount', ns, pod.spec.serviceAccountName));
      for (const n of podSecretNames(pod)) vertices.push(vertexKey('secret', ns, n));
      for (const n of podConfigMapNames(pod)) vertices.push(vertexKey('configmap', ns, n));
      for (const n of podClaimNames(pod)) vertices.push(vertexKey('persistentvolumeclaim', ns, n));
      for (const n of podResourceClaimNames(pod)) vertices.push(vertexKey('resourceclaim', ns, n));
    }
    for (const v of vertices) {
      let nodes = this.edges.get(v);
      if (!nodes) this.edges.set(v, (nodes = new Map()));
      nodes.set(node, (nodes.get(node) ?? 0) + 1);
    }
    this.pods.set(`${ns}/${name}`, { node, vertices });
  }

  deletePod(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const contributed = this.pods.get(key);
    if (!contributed) return;
    this.pods.delete(key);
    for (const v of contributed.vertices) {
      const nodes = this.edges.get(v);
      if (!nodes) continue;
      const count = (nodes.get(contributed.node) ?? 0) - 1;
      if (count > 0) nodes.set(contributed.node, count);
      else nodes.delete(contributed.node);
      if (nodes.size === 0) this.edges.delete(v);
    }
  }

  /** Whether a pod bound to `node` references the object (or, for pods, is the object). */
  hasPath(node: string, type: VertexType, namespace: string, name: string): boolean {
    return (this.edges.get(vertexKey(type, namespace, name))?.get(node) ?? 0) > 0;
  }

  /** How many objects are linked to at least one node (for tests and metrics). */
  get size(): number {
    return this.edges.size;
  }
}
