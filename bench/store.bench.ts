/**
 * Store throughput: writes/s and reads/s of every backend in the same run — memory (the baseline),
 * SQLite with synchronous=FULL (the default) and NORMAL, and etcd (one real member started by the
 * test harness, data on disk) — printed as ratios against the memory backend. Then watch fan-out:
 * one writer, 100 watchers on a prefix, events delivered per second.
 *
 * Objects are pod-sized (~1.5 KB of JSON); reads run against 1000 objects in 10 namespaces.
 *
 *   npm run bench -- store          (BENCH_MS=… per measurement, default 1000)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { KubeObject } from '@boundtoken/api';
import { createMemoryStore, openEtcdStore, openSqliteStore } from '@boundtoken/store';
import type { Store } from '@boundtoken/store';
import { startEtcdCluster } from '@boundtoken/store/testing';
import type { EtcdCluster } from '@boundtoken/store/testing';
import { fmt, rateAsync } from './lib/measure.js';

const MS = Number(process.env.BENCH_MS ?? 1000);
const NAMESPACES = 10;
const PER_NAMESPACE = 100;
const WATCHERS = 100;
/**
 * Writes of one fan-out run (or MS, whichever ends first). Every watcher decodes its own copy of
 * each event, so deliveries run far behind a fast backend's writes: the memory store writes
 * ~50 000 pods in a second, 5 million deliveries — half a minute of catching up — without a cap.
 */
const FANOUT_WRITES = 5_000;

function pod(ns: string, name: string, generation = 1): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: ns,
      uid: `8a1e2b3c-4d5e-4f60-8a7b-${String(generation).padStart(12, '0')}`,
      labels: { app: 'web', 'pod-template-hash': '7d9f8c6b5d' },
      annotations: { 'kubernetes.io/psp': 'restricted' },
      creationTimestamp: '2025-01-01T00:00:00Z',
    },
    spec: {
      nodeName: 'node-1',
      serviceAccountName: 'default',
      containers: [
        {
          name: 'web',
          image: 'registry.example/web:1.2.3',
          ports: [{ containerPort: 8080, protocol: 'TCP' }],
          volumeMounts: [{ name: 'kube-api-access-x2x4q', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }],
        },
      ],
      volumes: [
        {
          name: 'kube-api-access-x2x4q',
          projected: {
            defaultMode: 420,
            sources: [
              { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
              { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
            ],
          },
        },
      ],
    },
    status: { phase: 'Running', podIP: '10.0.0.17', conditions: [{ type: 'Ready', status: 'True', generation }] },
  };
}

interface Backend {
  name: string;
  open(): Promise<Store>;
}

interface Row {
  op: string;
  rates: Map<string, number>;
}

async function measureBackend(backend: Backend, rows: Row[]): Promise<void> {
  const store = await backend.open();
  try {
    const keys: string[] = [];
    await Promise.all(
      Array.from({ length: NAMESPACES }, async (_, n) => {
        for (let i = 0; i < PER_NAMESPACE; i++) {
          const key = `/registry/pods/ns-${n}/pod-${i}`;
          await store.create(key, pod(`ns-${n}`, `pod-${i}`));
          keys.push(key);
        }
      }),
    );
    let created = 0;
    let updated = 0;
    let read = 0;
    const ops: [string, () => Promise<unknown>, number][] = [
      ['create, 1 in flight', () => store.create(`/registry/pods/new/c${created++}`, pod('new', `c${created}`)), 1],
      ['create, 32 in flight', () => store.create(`/registry/pods/new/c${created++}`, pod('new', `c${created}`)), 32],
      ['update, 32 in flight', () => store.update(keys[updated++ % keys.length]!, pod('ns', 'u', updated)), 32],
      ['get, 1 in flight', () => store.get(keys[read++ % keys.length]!), 1],
      ['get, 16 in flight', () => store.get(keys[read++ % keys.length]!), 16],
      [`list a namespace (${PER_NAMESPACE} objects)`, () => store.list(`/registry/pods/ns-${read++ % NAMESPACES}/`), 4],
    ];
    for (const [op, fn, concurrency] of ops) {
      (globalThis as { gc?: () => void }).gc?.();
      const rate = await rateAsync(op, fn, MS, concurrency);
      let row = rows.find((r) => r.op === op);
      if (!row) rows.push((row = { op, rates: new Map() }));
      row.rates.set(backend.name, rate.opsPerSec);
    }
  } finally {
    await store.close();
  }
}

/**
 * One writer (16 creates in flight, FANOUT_WRITES or MS), WATCHERS watchers on the prefix:
 * deliveries per second, from the first write to the last delivery.
 */
async function fanOut(backend: Backend): Promise<{ writes: number; deliveries: number }> {
  const store = await backend.open();
  try {
    const start = await store.currentRevision();
    let delivered = 0;
    let lastDelivery = 0;
    const errors: Error[] = [];
    const watches = Array.from({ length: WATCHERS }, () =>
      store.watch('/registry/pods/fanout/', {
        afterRevision: start,
        onEvent: () => {
          delivered++;
          lastDelivery = performance.now();
        },
        onError: (err) => errors.push(err),
      }),
    );
    let written = 0;
    const began = performance.now();
    const stopAt = began + MS;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (performance.now() < stopAt && written < FANOUT_WRITES) {
          await store.create(`/registry/pods/fanout/p${written++}`, pod('fanout', `p${written}`));
        }
      }),
    );
    const expected = written * WATCHERS;
    const deadline = performance.now() + 120_000;
    while (delivered < expected && errors.length === 0 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    for (const w of watches) w.stop();
    if (errors.length > 0) throw new Error(`${backend.name}: a watcher failed: ${errors[0]!.message}`);
    if (delivered < expected) throw new Error(`${backend.name}: ${delivered} of ${expected} events delivered`);
    const seconds = (Math.max(lastDelivery, began) - began) / 1000;
    return { writes: written / seconds, deliveries: delivered / seconds };
  } finally {
    await store.close();
  }
}

function cell(value: number | undefined, baseline: number | undefined, width: number): string {
  if (value === undefined) return '—'.padStart(width);
  const ratio = baseline ? ` (${(value / baseline).toFixed(2)}x)` : '';
  return `${fmt(value)}${ratio}`.padStart(width);
}

function printTable(title: string, backends: string[], rows: Row[]): void {
  console.log(`\n${title}`);
  const w0 = Math.max(...rows.map((r) => r.op.length)) + 2;
  const w = 24;
  console.log(`  ${'operation'.padEnd(w0)}${backends.map((b) => b.padStart(w)).join('')}`);
  for (const row of rows) {
    const base = row.rates.get(backends[0]!);
    const cells = backends.map((b, i) => cell(row.rates.get(b), i === 0 ? undefined : base, w));
    console.log(`  ${row.op.padEnd(w0)}${cells.join('')}`);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'boundtoken-store-bench-'));
let cluster: EtcdCluster | undefined;
try {
  cluster = await startEtcdCluster({ members: 1, dataDir: join(dir, 'etcd') });
  const endpoints = cluster.endpoints;
  let n = 0;
  const backends: Backend[] = [
    { name: 'memory', open: async () => createMemoryStore() },
    { name: 'sqlite FULL', open: () => openSqliteStore({ path: join(dir, `full-${n++}.db`), synchronous: 'full' }) },
    { name: 'sqlite NORMAL', open: () => openSqliteStore({ path: join(dir, `normal-${n++}.db`), synchronous: 'normal' }) },
    { name: 'etcd 1 member', open: () => openEtcdStore({ endpoints, prefix: `/bench-${n++}` }) },
  ];
  const rows: Row[] = [];
  for (const backend of backends) await measureBackend(backend, rows);
  printTable('store operations, ops/s (ratio against the memory backend in this run)', backends.map((b) => b.name), rows);

  const fan: Row[] = [
    { op: 'writes/s, each delivered to every watcher', rates: new Map() },
    { op: `events delivered/s (${WATCHERS} watchers)`, rates: new Map() },
  ];
  for (const backend of backends) {
    const r = await fanOut(backend);
    fan[0]!.rates.set(backend.name, r.writes);
    fan[1]!.rates.set(backend.name, r.deliveries);
  }
  printTable(`watch fan-out: one writer, ${WATCHERS} watchers on one prefix`, backends.map((b) => b.name), fan);
  console.log(
    '\n  durability: sqlite FULL fsyncs every commit (one commit per event-loop turn of writes: group commit),' +
      '\n  so acknowledged writes survive power loss; NORMAL fsyncs the WAL at checkpoints only (survives a' +
      '\n  process crash, not a power cut); memory keeps nothing; etcd fsyncs its WAL before acknowledging.',
  );
} finally {
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
}
