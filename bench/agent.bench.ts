/**
 * The node agent (issue #5) against a real API server, with baselines measured in the same run:
 *
 * - pod created → token file on disk, p50 and p99 over 1 000 pods created one at a time (targets
 *   50 ms / 200 ms), next to the baseline of what the agent cannot avoid: creating the pod plus
 *   one TokenRequest for it, back to back, from this process;
 * - one agent with 10 000 pods: time from the first create to every token on disk, as a ratio to
 *   the time the API takes just to create those pods; the agent's resident memory (target
 *   < 300 MB; baseline: the same agent with no pods) and its CPU when idle;
 * - the largest number of token refreshes in any one second: always for 10 000 tokens issued
 *   within the measured creation time, on the agent's TokenManager with a simulated clock (paced,
 *   the default, against the kubelet's unpaced behaviour as the baseline); and, with
 *   BOUNDTOKEN_BENCH_AGENT_REFRESH=1, for real: every pod also gets a 600 s token (the shortest the
 *   API allows) and the run waits about 9 minutes for all of them to be refreshed.
 *
 * The agent runs in a child process (compiled `@boundtoken/agent`, plain node, as `boundtoken agent`
 * runs it) and reports its counters on stdout. The server is either the one named by
 * BOUNDTOKEN_BENCH_KUBECONFIG (an admin kubeconfig; its server URL is used, or
 * BOUNDTOKEN_BENCH_SERVER if set), or a compiled `boundtoken server` started here on a free loopback
 * port with a throwaway data dir (the agent then uses a node certificate, system:node:<name>).
 *
 *   npm run bench -- agent
 *   BENCH_AGENT_PODS=2000 npm run bench -- agent        (fewer pods for a quick run)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Pod, TokenRequest } from '@boundtoken/api';
import { TokenManager } from '@boundtoken/agent';
import { createKubeClient, loadKubeconfig, type KubeClientShape } from '@boundtoken/client';
import { mintKubeconfig, startServer, waitFor } from '../test/e2e/harness.ts';
import { fmt, percentile } from './lib/measure.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(REPO, 'packages/cli/bin/boundtoken.js');
const LATENCY_PODS = Number(process.env.BENCH_AGENT_LATENCY_PODS ?? 1000);
const TOTAL_PODS = Math.max(LATENCY_PODS, Number(process.env.BENCH_AGENT_PODS ?? 10_000));
const REAL_REFRESH = process.env.BOUNDTOKEN_BENCH_AGENT_REFRESH === '1';
const CREATE_CONCURRENCY = 16;
const SHORT_TOKEN_SECONDS = 600;
const suffix = Math.random().toString(36).slice(2, 7);
const NAMESPACE = `bench-agent-${suffix}`;
const NODE = `bench-node-${suffix}`;

interface Target {
  url: string;
  adminKubeconfig: string;
  /** Kubeconfig the agent uses. */
  agentKubeconfig: string;
  stop(): Promise<void>;
}

/** The agent's counters, as the child prints them every 100 ms. */
interface AgentSample {
  t: number;
  pods: number;
  ready: number;
  requests: number;
  refreshes: number;
  rss: number;
  heap: number;
  heapTotal: number;
  external: number;
  cpuUs: number;
}

async function main(): Promise<void> {
  if (!existsSync(CLI) || !existsSync(join(REPO, 'packages/agent/dist/index.js'))) {
    console.log('agent bench: build first (npm run bench builds with tsc -b)');
    process.exitCode = 1;
    return;
  }
  const target = await startTarget();
  const work = mkdtempSync(join(tmpdir(), 'bt-bench-agent-'));
  const admin = createKubeClient(loadKubeconfig(target.adminKubeconfig), { maxSockets: CREATE_CONCURRENCY * 2 });
  let agent: AgentChild | undefined;
  try {
    console.log(`server ${target.url}; ${TOTAL_PODS} pods (${LATENCY_PODS} one at a time) in namespace ${NAMESPACE} on node ${NODE}`);
    await setUpNamespace(admin);
    const baseline = await baselineCreateAndToken(admin, 200);

    agent = await startAgentChild(target.agentKubeconfig, join(work, 'root'));
    await waitFor('the node to be Ready', async () => {
      const node = await admin.get(`/api/v1/nodes/${NODE}`).catch(() => undefined);
      return (node as { status?: { conditions?: { type: string; status: string }[] } } | undefined)?.status?.conditions?.some(
        (c) => c.type === 'Ready' && c.status === 'True',
      );
    }, 30_000);
    await sleep(2000);
    const idleEmpty = agent.last();

    // 1. latency, one pod at a time
    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_PODS; i++) {
      const t0 = performance.now();
      const pod = await createPod(admin, i);
      await waitForFile(tokenPath(join(work, 'root'), pod), 10_000);
      latencies.push(performance.now() - t0);
    }

    // 2. the rest, as fast as the API takes them
    const rest = TOTAL_PODS - LATENCY_PODS;
    const t1 = performance.now();
    let next = LATENCY_PODS;
    await Promise.all(
      Array.from({ length: CREATE_CONCURRENCY }, async () => {
        while (next < TOTAL_PODS) await createPod(admin, next++);
      }),
    );
    const created = performance.now() - t1;
    await agent.waitFor((s) => s.ready >= TOTAL_PODS, 600_000, `all ${TOTAL_PODS} pods projected`);
    const projected = performance.now() - t1;

    // 3. idle CPU (the periodic re-syncs keep running), then memory after a full GC
    await sleep(5000);
    const a = agent.last();
    await sleep(10_000);
    const b = agent.last();
    const idleCpu = (b.cpuUs - a.cpuUs) / 1000 / (b.t - a.t);
    agent.gc();
    await sleep(1500);
    const afterGc = agent.last();

    // 4. refreshes
    const simulated = await simulateRefreshBurst(TOTAL_PODS, projected);
    const simulatedShort = await simulateRefreshBurst(TOTAL_PODS, projected, SHORT_TOKEN_SECONDS);
    let real: { maxPerSecond: number; seconds: number } | undefined;
    if (REAL_REFRESH) {
      console.log(`waiting for ${TOTAL_PODS} ${SHORT_TOKEN_SECONDS} s tokens to be refreshed (about ${Math.round((SHORT_TOKEN_SECONDS * 0.9) / 60)} minutes)…`);
      const before = agent.last().refreshes;
      await agent.waitFor((s) => s.refreshes - before >= TOTAL_PODS, SHORT_TOKEN_SECONDS * 1000, 'every short token refreshed');
      real = agent.maxPerSecond((s) => s.refreshes);
    }

    printResults({ baseline, latencies, created, projected, rest, idleEmpty, busy: b, afterGc, idleCpu, simulated, simulatedShort, real });
  } finally {
    await agent?.stop();
    await admin.delete(`/api/v1/namespaces/${NAMESPACE}`).catch(() => undefined);
    await admin.delete(`/api/v1/nodes/${NODE}`).catch(() => undefined);
    admin.close();
    await target.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

function printResults(r: {
  baseline: number[];
  latencies: number[];
  created: number;
  projected: number;
  rest: number;
  idleEmpty: AgentSample;
  busy: AgentSample;
  afterGc: AgentSample;
  idleCpu: number;
  simulated: { paced: number; unpaced: number; pacedSpreadS: number };
  simulatedShort: { paced: number; unpaced: number; pacedSpreadS: number };
  real: { maxPerSecond: number; seconds: number } | undefined;
}): void {
  const p50 = percentile(r.latencies, 50);
  const p99 = percentile(r.latencies, 99);
  const b50 = percentile(r.baseline, 50);
  const b99 = percentile(r.baseline, 99);
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;
  console.log(`\npod created → token file on disk (${r.latencies.length} pods, one at a time)`);
  console.log(`  ${'measure'.padEnd(52)}${'p50'.padStart(10)}${'p99'.padStart(10)}  target`);
  console.log(`  ${'baseline: POST pod + POST TokenRequest, back to back'.padEnd(52)}${`${fmt(b50)} ms`.padStart(10)}${`${fmt(b99)} ms`.padStart(10)}`);
  console.log(
    `  ${'agent: POST pod → token file'.padEnd(52)}${`${fmt(p50)} ms`.padStart(10)}${`${fmt(p99)} ms`.padStart(10)}  ≤ 50 ms / ≤ 200 ms  (${(p50 / b50).toFixed(2)}x / ${(p99 / b99).toFixed(2)}x baseline)`,
  );
  console.log(`\none agent, ${r.busy.pods} pods`);
  console.log(
    `  time to project ${r.rest} pods created ${CREATE_CONCURRENCY} at a time: ${(r.projected / 1000).toFixed(1)} s; the API took ${(r.created / 1000).toFixed(1)} s to create them (${(r.projected / r.created).toFixed(2)}x)`,
  );
  console.log(
    `  resident memory: ${mb(r.busy.rss)} (JS heap ${mb(r.busy.heap)}); after a full GC ${mb(r.afterGc.rss)} (heap ${mb(r.afterGc.heap)} of ${mb(r.afterGc.heapTotal)}, external ${mb(r.afterGc.external)}); no pods: ${mb(r.idleEmpty.rss)} (${(r.afterGc.rss / r.idleEmpty.rss).toFixed(1)}x)  target < 300 MB`,
  );
  console.log(`  CPU when idle: ${(r.idleCpu * 100).toFixed(2)} % of one core`);
  console.log(`  token requests: ${r.busy.requests}`);
  console.log(`\nlargest number of token refreshes in any one second (${r.busy.pods} tokens issued within ${(r.projected / 1000).toFixed(1)} s)`);
  const row = (label: string, v: string) => console.log(`  ${label.padEnd(66)}${v}`);
  for (const [life, sim] of [
    ['3607 s tokens', r.simulated],
    [`${SHORT_TOKEN_SECONDS} s tokens`, r.simulatedShort],
  ] as const) {
    row(`simulated, ${life}, kubelet (unpaced, syncs every 60–90 s)`, `${sim.unpaced}/s  (baseline)`);
    row(`simulated, ${life}, agent (paced, 50/s)`, `${sim.paced}/s  (${(sim.paced / sim.unpaced).toFixed(2)}x), spread over ${sim.pacedSpreadS.toFixed(0)} s`);
  }
  if (r.real) row(`measured, ${SHORT_TOKEN_SECONDS} s tokens, agent`, `${r.real.maxPerSecond}/s (${r.real.seconds} s observed)`);
  else row('measured', 'set BOUNDTOKEN_BENCH_AGENT_REFRESH=1 (waits about 9 minutes)');
}

// --- the server ----------------------------------------------------------------------------------

async function startTarget(): Promise<Target> {
  const external = process.env.BOUNDTOKEN_BENCH_KUBECONFIG;
  if (external) {
    const conn = loadKubeconfig(external);
    return {
      url: process.env.BOUNDTOKEN_BENCH_SERVER ?? conn.server,
      adminKubeconfig: external,
      agentKubeconfig: external,
      stop: async () => {},
    };
  }
  const server = await startServer();
  const agentKubeconfig = await mintKubeconfig(server, `system:node:${NODE}`, ['system:nodes'], join(server.dataDir, `${NODE}.kubeconfig`));
  return { url: server.url, adminKubeconfig: server.kubeconfig, agentKubeconfig, stop: () => server.dispose() };
}

async function setUpNamespace(admin: KubeClientShape): Promise<void> {
  await admin.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
  await waitFor('the default service account', async () => admin.get(`/api/v1/namespaces/${NAMESPACE}/serviceaccounts/default`).then(() => true, () => false), 30_000);
  await waitFor('kube-root-ca.crt', async () => admin.get(`/api/v1/namespaces/${NAMESPACE}/configmaps/kube-root-ca.crt`).then(() => true, () => false), 30_000);
}

function podManifest(i: number, nodeName: string): Pod {
  const spec: NonNullable<Pod['spec']> = { nodeName, containers: [{ name: 'app', image: 'busybox' }] };
  if (REAL_REFRESH) {
    spec.volumes = [{ name: 'short', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: SHORT_TOKEN_SECONDS } }] } }];
    spec.containers[0]!.volumeMounts = [{ name: 'short', mountPath: '/var/run/short' }];
  }
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: `p-${String(i).padStart(5, '0')}`, namespace: NAMESPACE }, spec };
}

async function createPod(admin: KubeClientShape, i: number): Promise<Pod> {
  return (await admin.create(`/api/v1/namespaces/${NAMESPACE}/pods`, podManifest(i, NODE))) as unknown as Pod;
}

function tokenPath(root: string, pod: Pod): string {
  const vol = pod.spec?.volumes?.find((v) => v.name.startsWith('kube-api-access-'));
  if (!vol) throw new Error('the server did not add a kube-api-access volume');
  return join(root, 'pods', pod.metadata!.uid!, 'volumes', 'kubernetes.io~projected', vol.name, 'token');
}

/** What the agent cannot avoid per pod: the pod's creation and one TokenRequest, back to back. */
async function baselineCreateAndToken(admin: KubeClientShape, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n + 20; i++) {
    const t0 = performance.now();
    const pod = (await admin.create(`/api/v1/namespaces/${NAMESPACE}/pods`, {
      ...podManifest(90_000 + i, `bench-nowhere-${suffix}`),
      metadata: { name: `baseline-${i}`, namespace: NAMESPACE },
    })) as unknown as Pod;
    const tr: TokenRequest = {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { audiences: undefined as unknown as string[], expirationSeconds: 3607, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name, uid: pod.metadata!.uid } },
    };
    delete (tr.spec as { audiences?: string[] }).audiences;
    await admin.create(`/api/v1/namespaces/${NAMESPACE}/serviceaccounts/default/token`, tr);
    if (i >= 20) out.push(performance.now() - t0); // the first 20 warm up
  }
  for (let i = 0; i < n + 20; i++) {
    await admin.delete(`/api/v1/namespaces/${NAMESPACE}/pods/baseline-${i}`, { gracePeriodSeconds: 0 }).catch(() => undefined);
  }
  return out;
}

// --- the agent child -----------------------------------------------------------------------------

const CHILD = `
import { Agent, createJsonLogger } from '@boundtoken/agent';
import { createInformer, createKubeClient, loadKubeconfig } from '@boundtoken/client';
const cfg = JSON.parse(process.argv[1]);
const client = createKubeClient(loadKubeconfig(cfg.kubeconfig), { userAgent: 'boundtoken-agent-bench' });
const agent = new Agent({
  client,
  createInformer: (o) => createInformer(client, o),
  nodeName: cfg.nodeName,
  rootDir: cfg.rootDir,
  logger: createJsonLogger({ level: 'warn' }),
});
const sample = () => {
  const s = agent.stats();
  const cpu = process.cpuUsage();
  process.stdout.write(JSON.stringify({ t: Date.now(), pods: s.pods, ready: s.volumesReady, requests: s.tokens.requests,
    refreshes: s.tokens.refreshes, rss: process.memoryUsage().rss, heap: process.memoryUsage().heapUsed,
    heapTotal: process.memoryUsage().heapTotal, external: process.memoryUsage().external, cpuUs: cpu.user + cpu.system }) + '\\n');
};
setInterval(sample, 100);
process.once('SIGTERM', async () => { await agent.stop(); client.close(); process.exit(0); });
process.on('SIGUSR2', () => globalThis.gc?.());
await agent.start();
`;

interface AgentChild {
  last(): AgentSample;
  waitFor(check: (s: AgentSample) => boolean, timeoutMs: number, what: string): Promise<AgentSample>;
  /** The largest increase of a counter within any one second. */
  maxPerSecond(counter: (s: AgentSample) => number): { maxPerSecond: number; seconds: number };
  /** Asks the agent process for a full garbage collection. */
  gc(): void;
  stop(): Promise<void>;
}

async function startAgentChild(kubeconfig: string, rootDir: string): Promise<AgentChild> {
  const proc = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', CHILD, JSON.stringify({ kubeconfig, nodeName: NODE, rootDir })], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const samples: AgentSample[] = [];
  let buf = '';
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.startsWith('{')) samples.push(JSON.parse(line) as AgentSample);
    }
  });
  let exited = false;
  proc.once('exit', () => (exited = true));
  const child: AgentChild = {
    last: () => samples[samples.length - 1]!,
    async waitFor(check, timeoutMs, what) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const s = samples[samples.length - 1];
        if (s && check(s)) return s;
        if (exited) throw new Error(`the agent exited while waiting for ${what}`);
        if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(s)})`);
        await sleep(50);
      }
    },
    maxPerSecond(counter) {
      let max = 0;
      let j = 0;
      for (let i = 0; i < samples.length; i++) {
        while (samples[i]!.t - samples[j]!.t > 1000) j++;
        max = Math.max(max, counter(samples[i]!) - counter(samples[j]!));
      }
      return { maxPerSecond: max, seconds: Math.round((samples[samples.length - 1]!.t - samples[0]!.t) / 1000) };
    },
    gc: () => void proc.kill('SIGUSR2'),
    stop: () => stopProcess(proc),
  };
  await child.waitFor(() => true, 30_000, 'the agent to start');
  return child;
}

// --- refreshes on a simulated clock --------------------------------------------------------------

/**
 * `pods` tokens of 3607 s issued evenly over `issueMs`; each pod asks the token manager at its
 * syncs (every 60–90 s, random phase) and, for the agent, also when the manager says its token is
 * due. Returns the largest number of refreshes started in any one second.
 */
async function simulateRefreshBurst(
  pods: number,
  issueMs: number,
  lifetimeS = 3607,
): Promise<{ paced: number; unpaced: number; pacedSpreadS: number }> {
  const run = (paced: boolean) => {
    let now = 0;
    const refreshTimes: number[] = [];
    let issuing = true;
    const tm = new TokenManager({
      requester: async (_ns, _sa, tr) => {
        if (!issuing) refreshTimes.push(now);
        return {
          ...tr,
          spec: { ...tr.spec, expirationSeconds: lifetimeS },
          status: { token: 't', expirationTimestamp: new Date(now + lifetimeS * 1000).toISOString() },
        };
      },
      clock: { now: () => now },
      refreshQps: paced ? 50 : Infinity,
    });
    const request = (uid: string): TokenRequest => ({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: lifetimeS, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: uid, uid } } as TokenRequest['spec'],
    });
    const queue = new MinHeap();
    const issuedAt: number[] = [];
    for (let i = 0; i < pods; i++) issuedAt.push(Math.floor((i / pods) * issueMs));
    return (async () => {
      for (let i = 0; i < pods; i++) {
        now = issuedAt[i]!;
        await tm.getServiceAccountToken('ns', 'sa', request(`p${i}`));
        queue.push(now + 60_000 + Math.random() * 30_000, i);
      }
      issuing = false;
      const end = lifetimeS * 1000 + issueMs;
      while (queue.size > 0) {
        const [t, i] = queue.pop();
        if (t > end) break;
        now = t;
        await tm.getServiceAccountToken('ns', 'sa', request(`p${i}`));
        let at = now + 60_000 + Math.random() * 30_000;
        const due = tm.nextRefreshAt(`p${i}`);
        if (paced && due !== undefined && due > now) at = Math.min(at, due);
        queue.push(at, i);
      }
      const perSecond = new Map<number, number>();
      for (const t of refreshTimes) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
      const max = Math.max(0, ...perSecond.values());
      const spread = refreshTimes.length ? (Math.max(...refreshTimes) - Math.min(...refreshTimes)) / 1000 : 0;
      return { max, spread };
    })();
  };
  const [p, u] = [await run(true), await run(false)];
  return { paced: p.max, unpaced: u.max, pacedSpreadS: p.spread };
}

/** A binary min-heap of (time, pod) pairs. */
class MinHeap {
  private readonly times: number[] = [];
  private readonly ids: number[] = [];

  get size(): number {
    return this.times.length;
  }

  push(t: number, id: number): void {
    let i = this.times.length;
    this.times.push(t);
    this.ids.push(id);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.times[parent]! <= t) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): [number, number] {
    const top: [number, number] = [this.times[0]!, this.ids[0]!];
    const lastT = this.times.pop()!;
    const lastId = this.ids.pop()!;
    if (this.times.length > 0) {
      this.times[0] = lastT;
      this.ids[0] = lastId;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.times.length && this.times[l]! < this.times[m]!) m = l;
        if (r < this.times.length && this.times[r]! < this.times[m]!) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }

  private swap(a: number, b: number): void {
    [this.times[a], this.times[b]] = [this.times[b]!, this.times[a]!];
    [this.ids[a], this.ids[b]] = [this.ids[b]!, this.ids[a]!];
  }
}

// --- helpers -------------------------------------------------------------------------------------

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitForFile(path: string, timeoutMs: number): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!existsSync(path)) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${path}`);
    await sleep(1);
  }
}

async function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

await main();
