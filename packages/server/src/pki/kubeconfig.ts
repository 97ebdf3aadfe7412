/** kubeconfig files with embedded certificates (what `kubectl` and client libraries read). */
import { stringify } from 'yaml';

export interface KubeconfigOptions {
  server: string;
  caPem: string;
  user: string;
  clientCertPem?: string;
  clientKeyPem?: string;
  token?: string;
  clusterName?: string;
  namespace?: string;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

export function kubeconfigYaml(o: KubeconfigOptions): string {
  const cluster = o.clusterName ?? 'boundtoken';
  const context = `${o.user}@${cluster}`;
  const user: Record<string, string> = {};
  if (o.clientCertPem) user['client-certificate-data'] = b64(o.clientCertPem);
  if (o.clientKeyPem) user['client-key-data'] = b64(o.clientKeyPem);
  if (o.token) user.token = o.token;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: { server: o.server, 'certificate-authority-data': b64(o.caPem) } }],
    users: [{ name: o.user, user }],
    contexts: [{ name: context, context: { cluster, user: o.user, ...(o.namespace ? { namespace: o.namespace } : {}) } }],
    'current-context': context,
    preferences: {},
  });
}
