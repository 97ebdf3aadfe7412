/** Shared setup for the agent tests: a fake API with a namespace, service account and root CA. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigMap, Pod, Volume } from '@boundtoken/api';
import { Agent, type AgentOptions } from '../src/agent.ts';
import type { Logger } from '../src/logger.ts';
import { FakeKube } from './fake-kube.ts';

export const NODE = 'node-1';
export const ROOT_CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

export function kubeApiAccess(name = 'kube-api-access-abcde'): Volume {
  return {
    name,
    projected: {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    },
  };
}

export function podSpec(name: string, volumes: Volume[] = [kubeApiAccess()], extra: Partial<NonNullable<Pod['spec']>> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'shop' },
    spec: {
      nodeName: NODE,
      serviceAccountName: 'builder',
      containers: [{ name: 'app', image: 'nginx' }],
      volumes,
      ...extra,
    },
  };
}

export interface LogLine {
  level: string;
  msg: string;
  obj: object;
}

export function captureLogger(lines: LogLine[]): Logger {
  const at = (level: string) => (obj: object, msg?: string) => lines.push({ level, msg: msg ?? '', obj });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export interface Env {
  kube: FakeKube;
  root: string;
  agent: Agent;
  logs: LogLine[];
  cleanup(): Promise<void>;
}

export async function startAgent(options: Partial<AgentOptions> = {}, prepare?: (kube: FakeKube, root: string) => Promise<void> | void): Promise<Env> {
  const kube = new FakeKube();
  kube.put('/api/v1/namespaces/shop/serviceaccounts/builder', { metadata: { name: 'builder' } });
  kube.put<ConfigMap>('/api/v1/namespaces/shop/configmaps/kube-root-ca.crt', {
    metadata: { name: 'kube-root-ca.crt' },
    data: { 'ca.crt': ROOT_CA },
  });
  const root = await mkdtemp(join(tmpdir(), 'bt-agent-'));
  await prepare?.(kube, root);
  const logs: LogLine[] = [];
  const agent = new Agent({
    client: kube,
    createInformer: kube.createInformer,
    nodeName: NODE,
    rootDir: root,
    backoffInitialMs: 10,
    backoffMaxMs: 80,
    logger: captureLogger(logs),
    random: () => 0,
    ...options,
  });
  await agent.start();
  return {
    kube,
    root,
    agent,
    logs,
    async cleanup() {
      await agent.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a truthy value (or throws after `timeoutMs`). */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 5000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
