/**
 * The service account controllers: a `default` ServiceAccount in every active namespace, the
 * `kube-root-ca.crt` ConfigMap in every namespace (repaired when changed or deleted), and the
 * token controller that fills Secrets of type `kubernetes.io/service-account-token` with a legacy
 * token, `ca.crt` and `namespace` (and removes them when their service account is gone).
 */
import { isStatusError, type ConfigMap, type KubeObject, type Namespace, type Secret, type ServiceAccount } from '@boundtoken/api';
import { buildLegacyClaims, type TokenSigner } from '@boundtoken/token';
import { ROOT_CA_CONFIGMAP } from '../admission/service-account.js';
import type { Registry } from '../registry/registry.js';
import { controllerContext } from './context.js';
import { WorkQueue } from './queue.js';

type Log = { warn: (o: object, m: string) => void };

const ROOT_CA_DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';

const DESCRIPTION_ANNOTATION = 'kubernetes.io/description';

/** publisher.go: `data` is exactly the CA bundle, and some (any) description is there. */
function rootCAInSync(cm: ConfigMap, caPem: string): boolean {
  const data = cm.data ?? {};
  return Object.keys(data).length === 1 && data['ca.crt'] === caPem && !!cm.metadata?.annotations?.[DESCRIPTION_ANNOTATION];
}

export const SA_NAME_ANNOTATION = 'kubernetes.io/service-account.name';
export const SA_UID_ANNOTATION = 'kubernetes.io/service-account.uid';
export const SA_TOKEN_TYPE = 'kubernetes.io/service-account-token';

function ignoreConflicts(err: unknown): void {
  if (isStatusError(err) && (err.code === 409 || err.code === 404)) return;
  throw err;
}

/** Keeps `default` in every namespace that is not terminating. */
export function startDefaultServiceAccounts(registry: Registry, log: Log): { stop(): void; idle(): Promise<void> } {
  const namespaces = registry.cache<Namespace>('namespaces');
  const sas = registry.cache<ServiceAccount>('serviceaccounts');
  const saDef = registry.def('', 'serviceaccounts')!;
  const queue = new WorkQueue(
    async (ns) => {
      const n = namespaces.get('', ns);
      if (!n || n.metadata?.deletionTimestamp || n.status?.phase === 'Terminating') return;
      if (sas.get(ns, 'default')) return;
      await registry
        .create(saDef, controllerContext('serviceaccount-controller'), ns, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } })
        .catch(ignoreConflicts);
    },
    { onError: (key, err) => log.warn({ namespace: key, err }, 'creating the default service account failed') },
  );
  const unsubNs = namespaces.subscribe({ add: (n) => queue.add(n.metadata!.name!), update: (n) => queue.add(n.metadata!.name!) });
  const unsubSa = sas.subscribe({ delete: (sa) => sa.metadata?.name === 'default' && queue.add(sa.metadata.namespace!) });
  for (const n of namespaces.list()) queue.add(n.metadata!.name!);
  return {
    stop() {
      unsubNs();
      unsubSa();
      queue.stop();
    },
    idle: () => queue.idle(),
  };
}

/** Publishes the API server's CA bundle into every namespace. */
export function startRootCAPublisher(registry: Registry, caPem: string, log: Log): { stop(): void; idle(): Promise<void> } {
  const namespaces = registry.cache<Namespace>('namespaces');
  const cms = registry.cache<ConfigMap>('configmaps');
  const def = registry.def('', 'configmaps')!;
  const queue = new WorkQueue(
    async (ns) => {
      const n = namespaces.get('', ns);
      if (!n || n.metadata?.deletionTimestamp) return;
      const cm = cms.get(ns, ROOT_CA_CONFIGMAP);
      const ctx = controllerContext('root-ca-cert-publisher');
      if (!cm) {
        await registry
          .create(def, ctx, ns, {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: ROOT_CA_CONFIGMAP, namespace: ns, annotations: { [DESCRIPTION_ANNOTATION]: ROOT_CA_DESCRIPTION } },
            data: { 'ca.crt': caPem },
          } as KubeObject)
          .catch(ignoreConflicts);
        return;
      }
      if (rootCAInSync(cm, caPem)) return;
      await registry
        .guaranteedUpdate<ConfigMap>(def, ctx, ns, ROOT_CA_CONFIGMAP, (c) => {
          // as the update finds it: someone may have put it right since the check above
          if (rootCAInSync(c, caPem)) return undefined;
          // only `data` and the description are the publisher's: binaryData, labels, … stay
          c.data = { 'ca.crt': caPem };
          c.metadata!.annotations = { ...(c.metadata!.annotations ?? {}), [DESCRIPTION_ANNOTATION]: ROOT_CA_DESCRIPTION };
          return c;
        })
        .catch(ignoreConflicts);
    },
    { onError: (key, err) => log.warn({ namespace: key, err }, 'publishing the root CA failed') },
  );
  const unsubNs = namespaces.subscribe({ add: (n) => queue.add(n.metadata!.name!), update: (n) => queue.add(n.metadata!.name!) });
  const watch = (c: ConfigMap): void => {
    if (c.metadata?.name === ROOT_CA_CONFIGMAP) queue.add(c.metadata.namespace!);
  };
  const unsubCm = cms.subscribe({ update: watch, delete: watch });
  for (const n of namespaces.list()) queue.add(n.metadata!.name!);
  return {
    stop() {
      unsubNs();
      unsubCm();
      queue.stop();
    },
    idle: () => queue.idle(),
  };
}

/** Fills legacy service account token Secrets (pkg/controller/serviceaccount/tokens_controller.go). */
export function startTokenController(registry: Registry, signer: TokenSigner, caPem: string, log: Log): { stop(): void; idle(): Promise<void> } {
  const secrets = registry.cache<Secret>('secrets');
  const sas = registry.cache<ServiceAccount>('serviceaccounts');
  const def = registry.def('', 'secrets')!;
  const saDef = registry.def('', 'serviceaccounts')!;
  /** Token secrets deleted and not yet handled: the service account each named. */
  const deleted = new Map<string, { saName: string; saUid: string | undefined }>();

  /** removeSecretReference: a deleted token secret leaves its service account's `secrets`. */
  async function removeSecretReference(ns: string, secretName: string, ref: { saName: string; saUid: string | undefined }): Promise<void> {
    const sa = sas.get(ns, ref.saName);
    if (!sa || (ref.saUid && ref.saUid !== sa.metadata?.uid) || !(sa.secrets ?? []).some((r) => r.name === secretName)) return;
    await registry
      .guaranteedUpdate<ServiceAccount>(saDef, controllerContext('tokens-controller'), ns, ref.saName, (live) => {
        if ((ref.saUid && ref.saUid !== live.metadata?.uid) || !(live.secrets ?? []).some((r) => r.name === secretName)) return undefined;
        live.secrets = live.secrets!.filter((r) => r.name !== secretName);
        return live;
      })
      .catch(ignoreConflicts);
  }

  const queue = new WorkQueue(
    async (key) => {
      const [ns, name] = key.split('/') as [string, string];
      const secret = secrets.get(ns, name);
      const gone = deleted.get(key);
      deleted.delete(key);
      if (!secret) {
        if (gone) await removeSecretReference(ns, name, gone);
        return;
      }
      if (secret.type !== SA_TOKEN_TYPE || secret.metadata?.deletionTimestamp) return;
      const saName = secret.metadata?.annotations?.[SA_NAME_ANNOTATION] ?? '';
      const sa = sas.get(ns, saName);
      const wantUid = secret.metadata?.annotations?.[SA_UID_ANNOTATION];
      const ctx = controllerContext('tokens-controller');
      if (!sa || (wantUid && wantUid !== sa.metadata?.uid)) {
        // its service account is gone: so is the token
        await registry.delete(def, ctx, ns, name, { preconditions: { uid: secret.metadata!.uid! } }).catch(ignoreConflicts);
        return;
      }
      const nsB64 = Buffer.from(ns).toString('base64');
      const caB64 = Buffer.from(caPem).toString('base64');
      const hasToken = !!secret.data?.token;
      // a namespace already there is kept, whatever it says (generateTokenIfNeeded: only when empty)
      if (hasToken && secret.data?.['ca.crt'] === caB64 && secret.data?.namespace && wantUid === sa.metadata?.uid) return;
      await registry
        .guaranteedUpdate<Secret>(def, ctx, ns, name, (s) => {
          const data = (s.data ??= {});
          if (!data.token) {
            const token = signer.sign(buildLegacyClaims({ serviceAccount: { namespace: ns, name: saName, uid: sa.metadata!.uid! }, secretName: name }));
            data.token = Buffer.from(token).toString('base64');
          }
          data['ca.crt'] = caB64;
          if (!data.namespace) data.namespace = nsB64;
          s.metadata!.annotations = { ...(s.metadata!.annotations ?? {}), [SA_UID_ANNOTATION]: sa.metadata!.uid! };
          return s;
        })
        .catch(ignoreConflicts);
    },
    { onError: (key, err) => log.warn({ secret: key, err }, 'filling a service account token secret failed') },
  );
  const enqueue = (s: Secret): void => {
    if (s.type === SA_TOKEN_TYPE) queue.add(`${s.metadata!.namespace}/${s.metadata!.name}`);
  };
  const unsubSecrets = secrets.subscribe({
    add: enqueue,
    update: enqueue,
    delete: (s) => {
      if (s.type !== SA_TOKEN_TYPE) return;
      const key = `${s.metadata!.namespace}/${s.metadata!.name}`;
      const annotations = s.metadata?.annotations ?? {};
      deleted.set(key, { saName: annotations[SA_NAME_ANNOTATION] ?? '', saUid: annotations[SA_UID_ANNOTATION] });
      queue.add(key);
    },
  });
  const onSa = (sa: ServiceAccount): void => {
    for (const s of secrets.list(sa.metadata!.namespace!)) {
      if (s.type === SA_TOKEN_TYPE && s.metadata?.annotations?.[SA_NAME_ANNOTATION] === sa.metadata!.name) enqueue(s);
    }
  };
  const unsubSa = sas.subscribe({ add: onSa, delete: onSa });
  for (const s of secrets.list()) enqueue(s);
  return {
    stop() {
      unsubSecrets();
      unsubSa();
      queue.stop();
    },
    idle: () => queue.idle(),
  };
}
