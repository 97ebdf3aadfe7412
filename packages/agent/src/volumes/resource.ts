/**
 * Downward API resourceFieldRef (pkg/api/v1/resource): a container's limits or requests in units
 * of `divisor` (default 1), rounded up. A limit the container does not set is the node's
 * allocatable amount, as the kubelet does.
 */
import type { Container, Pod } from '@boundtoken/api';
import { AgentError } from '../errors.js';
import { isZero, parseQuantity, quantityMilliValue, quantityValue, type Quantity } from './quantity.js';

/** Allocatable resources of the node (`cpu`, `memory`, `ephemeral-storage`, …) as quantities. */
export type NodeAllocatable = Record<string, string>;

export interface ResourceFieldSelector {
  containerName?: string;
  resource: string;
  divisor?: string | number;
}

const MERGED_FROM_NODE = ['cpu', 'memory', 'ephemeral-storage'];

export function extractResourceValue(selector: ResourceFieldSelector, pod: Pod, allocatable: NodeAllocatable): string {
  const name = selector.containerName ?? '';
  const container = findContainer(pod, name);
  if (!container) throw new AgentError('ERR_FIELD_PATH', `container ${name} not found`);
  const limits: Record<string, string> = { ...stringify(container.resources?.limits) };
  for (const r of MERGED_FROM_NODE) {
    if (limits[r] === undefined && allocatable[r] !== undefined) limits[r] = allocatable[r];
  }
  const requests = stringify(container.resources?.requests);

  let divisor = selector.divisor === undefined ? parseQuantity('0') : parseQuantity(String(selector.divisor));
  if (isZero(divisor)) divisor = parseQuantity('1');

  const [kind, resource] = splitResource(selector.resource);
  if (!kind || !resource || !(resource in RESOURCE_KINDS || resource.startsWith('hugepages-'))) {
    throw new AgentError('ERR_FIELD_PATH', `unsupported container resource : ${selector.resource}`);
  }
  const source = kind === 'limits' ? limits : requests;
  const q = parseQuantity(String(source[resource] ?? '0'));
  if (resource === 'cpu') return ceilRatio(quantityMilliValue(q), quantityMilliValue(divisor));
  return ceilRatio(quantityValue(q), quantityValue(divisor));
}

const RESOURCE_KINDS: Record<string, true> = { cpu: true, memory: true, 'ephemeral-storage': true };

function splitResource(resource: string): [string | undefined, string | undefined] {
  const dot = resource.indexOf('.');
  if (dot === -1) return [undefined, undefined];
  const kind = resource.slice(0, dot);
  if (kind !== 'limits' && kind !== 'requests') return [undefined, undefined];
  return [kind, resource.slice(dot + 1)];
}

function ceilRatio(a: bigint, b: bigint): string {
  if (b === 0n) throw new AgentError('ERR_FIELD_PATH', 'divisor must be positive');
  // math.Ceil(float64(a) / float64(b)), exactly
  const q = a / b;
  const r = a % b;
  return String(r !== 0n && a > 0n === b > 0n ? q + 1n : q);
}

function findContainer(pod: Pod, name: string): Container | undefined {
  return [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) => c.name === name);
}

function stringify(m: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m ?? {})) out[k] = String(v);
  return out;
}

export type { Quantity };
