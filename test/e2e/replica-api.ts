/**
 * Small typed API calls the replica tests share: namespaces, pods, TokenRequest and TokenReview
 * over an `ApiClient`, each returning the status and object so that tests can assert on both.
 */
import type { KubeObject } from '@boundtoken/api';
import { waitFor, type ApiClient, type ApiResponse } from './harness.ts';

export const AUDIENCE = 'replica-test';

export function podBody(name: string, extra: { nodeName?: string; serviceAccountName?: string; volumes?: unknown[] } = {}): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      serviceAccountName: extra.serviceAccountName ?? 'default',
      ...(extra.nodeName ? { nodeName: extra.nodeName } : {}),
      containers: [{ name: 'app', image: 'example.com/app:1' }],
      ...(extra.volumes ? { volumes: extra.volumes } : {}),
    },
  };
}

export function tokenRequestBody(pod: { name: string; uid: string }, expirationSeconds = 600): object {
  return {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: {
      audiences: [AUDIENCE],
      expirationSeconds,
      boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.name, uid: pod.uid },
    },
  };
}

export function tokenReviewBody(token: string): object {
  return { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [AUDIENCE] } };
}

export interface ReviewStatus {
  authenticated?: boolean;
  error?: string;
  user?: { username?: string; extra?: Record<string, string[]> };
}

/** Creates a namespace and waits (through `api`) until the controllers gave it its `default` ServiceAccount. */
export async function createNamespace(api: ApiClient, name: string, timeoutMs = 20_000): Promise<void> {
  const r = await api.request('/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } });
  if (r.status !== 201) throw new Error(`creating namespace ${name}: ${r.status} ${r.body}`);
  await waitFor(`the default ServiceAccount of ${name}`, async () => (await api.request(`/api/v1/namespaces/${name}/serviceaccounts/default`)).status === 200, timeoutMs);
}

export async function createPod(api: ApiClient, ns: string, name: string, extra: Parameters<typeof podBody>[1] = {}): Promise<{ name: string; uid: string }> {
  const r = await api.request(`/api/v1/namespaces/${ns}/pods`, { body: podBody(name, extra) });
  if (r.status !== 201) throw new Error(`creating pod ${ns}/${name}: ${r.status} ${r.body}`);
  return { name, uid: r.json<KubeObject>().metadata!.uid! };
}

export async function requestToken(api: ApiClient, ns: string, pod: { name: string; uid: string }, sa = 'default'): Promise<ApiResponse> {
  return api.request(`/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, { body: tokenRequestBody(pod) });
}

export async function mintToken(api: ApiClient, ns: string, pod: { name: string; uid: string }): Promise<string> {
  const r = await requestToken(api, ns, pod);
  if (r.status !== 201) throw new Error(`TokenRequest for ${ns}/${pod.name}: ${r.status} ${r.body}`);
  return r.json<{ status: { token: string } }>().status.token;
}

export async function review(api: ApiClient, token: string): Promise<ReviewStatus> {
  const r = await api.request('/apis/authentication.k8s.io/v1/tokenreviews', { body: tokenReviewBody(token) });
  if (r.status !== 201) throw new Error(`TokenReview: ${r.status} ${r.body}`);
  return r.json<{ status: ReviewStatus }>().status;
}

export async function deletePodNow(api: ApiClient, ns: string, name: string): Promise<ApiResponse> {
  return api.request(`/api/v1/namespaces/${ns}/pods/${name}?gracePeriodSeconds=0`, { method: 'DELETE' });
}
