/**
 * The API server over HTTPS (issue #3), against baselines measured in the same run:
 *
 * - GET a pod through the full server — client-certificate authentication, authorization (the
 *   admin's system:masters, and a user allowed by an RBAC ClusterRoleBinding), the informer cache
 *   read, serialisation — as a ratio to an empty endpoint on a plain `node:https` server with the
 *   same TLS setup (target ≥ 0.6×);
 * - watch fan-out: 100 HTTPS watchers of the pods of a namespace, then merge-patch updates of
 *   pods (4 writers, one pod each): the delay from each write to the last watcher, events
 *   delivered per second, the update rate with 100 watchers as a ratio to the same updates
 *   without watchers, and the server CPU per delivered event.
 *
 * The server is the compiled `boundtoken server` CLI in its own process (what users run; memory
 * store by default, BENCH_STORAGE=sqlite for the embedded default), the baseline another process;
 * the load generator (autocannon, keep-alive, client certificates) and the watchers run in this
 * process, so on a 2-core machine each side has about one core.
 *
 *   npm run bench -- server
 */
import { setMaxListeners } from 'node:events';
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { createPodReaderRole, createWorkload, grant, NAMESPACE, podManifest } from './lib/fixtures.js';
import { bestOfRounds, cpuMeter, describeCpu, peakRate, printServerRates, ratioLine, type CpuUse, type Measured } from './lib/https-load.js';
import { percentile } from './lib/measure.js';
import { apiCall, startCliServer, startEmptyHttps, type CliServer, type Identity } from './lib/servers.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 1.5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const CONNECTIONS = 16;
const WATCHERS = 100;
// the store's own rates are bench/store.bench.ts's; with SQLite's fsync per commit, the disk would
// set the pace of the write-driven watch measurements (BENCH_STORAGE=sqlite shows that)
const STORAGE = process.env.BENCH_STORAGE ?? 'memory';

async function benchGet(server: CliServer, podPath: string): Promise<string[]> {
  const readerRole = await createPodReaderRole(server);
  const reader = await grant(server, 'bench-pod-reader', readerRole, async (id) => (await apiCall(server.url, id, 'GET', podPath, undefined, { allow: [403] })).status === 200);
  const pod = await apiCall<object>(server.url, server.admin, 'GET', podPath);
  const podJson = JSON.stringify(pod.body);
  const empty = await startEmptyHttps(server.tls, podJson);
  try {
    const run = (url: string, path: string, id: Identity, pid: number) => () =>
      peakRate(url, id, { method: 'GET', path }, { connections: CONNECTIONS, seconds: SECONDS, serverPids: [pid] });
    // warm-up: connections, JIT
    await run(empty.url, podPath, server.admin, empty.pid)();
    await run(server.url, podPath, reader, server.pid)();
    const [base, bytes, admin, rbac] = await bestOfRounds(
      [
        { name: 'empty node:https endpoint (same TLS setup)', run: run(empty.url, podPath, server.admin, empty.pid) },
        { name: 'node:https sending the same pod bytes', run: run(empty.url, `/payload${podPath}`, server.admin, empty.pid) },
        { name: 'GET pod as admin (system:masters)', run: run(server.url, podPath, server.admin, server.pid) },
        { name: 'GET pod as an RBAC-bound user', run: run(server.url, podPath, reader, server.pid) },
      ],
      ROUNDS,
    );
    printServerRates(
      `GET a pod (${podJson.length} bytes of JSON) over HTTPS, ${CONNECTIONS} keep-alive connections, client certificates, vs an empty HTTPS endpoint`,
      [base!, bytes!, admin!, rbac!],
      base!,
      { [admin!.name]: 0.6, [rbac!.name]: 0.6 },
    );
    console.log(`  (the second row is the ceiling for any server sending these ${podJson.length} bytes over this TLS setup: the TLS write of the body, not the server's work, sets it)`);
    const note = (r: Measured): string => `(${Math.round(r.rps)} req/s; cost ratio ${(base!.cpuUsPerRequest / r.cpuUsPerRequest).toFixed(2)}x; ${(r.rps / bytes!.rps).toFixed(2)}x of node:https sending the same bytes)`;
    return [
      ratioLine('GET pod (admin) / empty HTTPS endpoint', admin!.rps / base!.rps, 0.6, note(admin!)),
      ratioLine('GET pod (RBAC user) / empty HTTPS endpoint', rbac!.rps / base!.rps, 0.6, note(rbac!)),
    ];
  } finally {
    await empty.stop();
  }
}

/** A watcher's view: when each update (by its sequence number) arrived. */
interface Arrivals {
  /** seq → [first arrival, last arrival, count] */
  bySeq: Map<number, [number, number, number]>;
}

const SEQ = '"bench/seq":"';

function openWatchers(server: CliServer, id: Identity, n: number, resourceVersion: string, arrivals: Arrivals): { pool: Pool; ready: Promise<void>; close: () => Promise<void> } {
  const pool = new Pool(server.url, { connections: n, pipelining: 1, connect: { ca: id.ca, cert: id.cert!, key: id.key! }, bodyTimeout: 0, headersTimeout: 30_000 });
  const path = `/api/v1/namespaces/${NAMESPACE}/pods?watch=1&resourceVersion=${resourceVersion}&timeoutSeconds=600`;
  const controller = new AbortController();
  setMaxListeners(n + 10, controller.signal);
  const started: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    started.push(
      pool.request({ method: 'GET', path, headers: { accept: 'application/json' }, signal: controller.signal }).then((res) => {
        if (res.statusCode !== 200) throw new Error(`watch answered ${res.statusCode}`);
        let carry = '';
        res.body.setEncoding('utf8');
        res.body.on('data', (chunk: string) => {
          const now = performance.now();
          const text = carry + chunk;
          const end = text.lastIndexOf('\n');
          if (end < 0) {
            carry = text;
            return;
          }
          carry = text.slice(end + 1);
          let at = text.indexOf(SEQ);
          while (at >= 0 && at < end) {
            const from = at + SEQ.length;
            const seq = Number(text.slice(from, text.indexOf('"', from)));
            const a = arrivals.bySeq.get(seq);
            if (a) {
              a[1] = now;
              a[2]++;
            } else arrivals.bySeq.set(seq, [now, now, 1]);
            at = text.indexOf(SEQ, from);
          }
        });
        res.body.on('error', () => undefined);
      }),
    );
  }
  return {
    pool,
    ready: Promise.all(started).then(() => undefined),
    close: async () => {
      controller.abort();
      await pool.destroy();
    },
  };
}

async function benchWatch(server: CliServer): Promise<string[]> {
  const a = server.admin;
  const writerPool = new Pool(server.url, { connections: 4, pipelining: 1, connect: { ca: a.ca, cert: a.cert!, key: a.key! } });
  // each writer updates its own pod: updates of one object by several writers would measure
  // conflict retries, not fan-out
  const WRITERS = 4;
  const pods = Array.from({ length: WRITERS }, (_, i) => `watched-${i}`);
  for (const name of pods) await apiCall(server.url, a, 'POST', `/api/v1/namespaces/${NAMESPACE}/pods`, podManifest(name, { watched: 'true' }));
  let seq = 0;
  /** Sends one update; resolves with when it was sent and when its answer arrived. */
  const update = async (writer: number): Promise<[number, number]> => {
    const s = ++seq;
    const t = performance.now();
    const res = await writerPool.request({
      method: 'PATCH',
      path: `/api/v1/namespaces/${NAMESPACE}/pods/${pods[writer]}`,
      headers: { 'content-type': 'application/merge-patch+json', accept: 'application/json' },
      body: `{"metadata":{"annotations":{"bench/seq":"${s}"}}}`,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`update answered ${res.statusCode}: ${text.slice(0, 300)}`);
    return [t, performance.now()];
  };
  const burst = async (count: number): Promise<{ first: number; last: number; firstSeq: number; cpu: CpuUse }> => {
    const firstSeq = seq + 1;
    const meter = cpuMeter([server.pid]);
    const first = performance.now();
    let left = count;
    await Promise.all(
      pods.map(async (_, w) => {
        while (left-- > 0) await update(w);
      }),
    );
    return { first, last: performance.now(), firstSeq, cpu: meter() };
  };

  try {
    const UPDATES = 600;
    // writes without watchers (the baseline of the write rate), after a warm-up
    await burst(50);
    const alone = await burst(UPDATES);
    const aloneRate = (UPDATES * 1000) / (alone.last - alone.first);

    const current = await apiCall<{ metadata: { resourceVersion: string } }>(server.url, a, 'GET', `/api/v1/namespaces/${NAMESPACE}/pods?limit=1`);
    const arrivals: Arrivals = { bySeq: new Map() };
    const watchers = openWatchers(server, a, WATCHERS, current.body.metadata.resourceVersion, arrivals);
    try {
      await watchers.ready;
      // one update at a time: the delay from sending the write to the last watcher having it
      const delays: number[] = [];
      const firsts: number[] = [];
      const afterAnswer: number[] = [];
      const writes: number[] = [];
      for (let i = 0; i < 40; i++) {
        const [sent, answered] = await update(0);
        const s = seq;
        const deadline = performance.now() + 10_000;
        while ((arrivals.bySeq.get(s)?.[2] ?? 0) < WATCHERS) {
          if (performance.now() > deadline) throw new Error(`update ${s} reached ${arrivals.bySeq.get(s)?.[2] ?? 0} of ${WATCHERS} watchers in 10 s`);
          await new Promise((r) => setImmediate(r));
        }
        const [first, last] = arrivals.bySeq.get(s)!;
        if (i >= 5) {
          delays.push(last - sent);
          firsts.push(first - sent);
          afterAnswer.push(last - answered);
          writes.push(answered - sent);
        }
      }
      // a burst of updates: events delivered per second, and the write rate with 100 watchers
      const b = await burst(UPDATES);
      const lastSeq = seq;
      const deadline = performance.now() + 30_000;
      while ((arrivals.bySeq.get(lastSeq)?.[2] ?? 0) < WATCHERS && performance.now() < deadline) await new Promise((r) => setTimeout(r, 1));
      let delivered = 0;
      let lastArrival = 0;
      for (let s = b.firstSeq; s <= lastSeq; s++) {
        const x = arrivals.bySeq.get(s);
        if (!x) continue;
        delivered += x[2];
        lastArrival = Math.max(lastArrival, x[1]);
      }
      const withRate = (UPDATES * 1000) / (b.last - b.first);
      const eventsPerSec = (delivered * 1000) / (lastArrival - b.first);
      console.log(`\nWatch fan-out: ${WATCHERS} HTTPS watchers of the pods in a namespace (one keep-alive connection each), merge-patch updates of pods by the admin`);
      const ms = (v: number[]): string => `p50 ${percentile(v, 50).toFixed(1)} ms  p99 ${percentile(v, 99).toFixed(1)} ms`;
      console.log(`  one update at a time (35 updates):  the write itself (sent → answered)   ${ms(writes)}`);
      console.log(`                                      write sent → first watcher         ${ms(firsts)}`);
      console.log(`                                      write sent → last watcher          ${ms(delays)}  max ${Math.max(...delays).toFixed(1)} ms`);
      console.log(`                                      write answered → last watcher      ${ms(afterAnswer)}`);
      console.log(`  ${UPDATES} updates, ${WRITERS} writers (one pod each):  ${Math.round(eventsPerSec).toLocaleString('en-US')} events delivered/s (${delivered} of ${UPDATES * WATCHERS}),` + ` last delivery ${(lastArrival - b.last).toFixed(0)} ms after the last write answered`);
      console.log(`  updates/s: ${Math.round(aloneRate)} without watchers (${describeCpu(alone.cpu)}), ${Math.round(withRate)} with ${WATCHERS} watchers (${describeCpu(b.cpu)})`);
      // server CPU per update, alone and with the watchers: the difference is the fan-out's cost
      const perUpdate = (r: { first: number; last: number; cpu: CpuUse }): number => (r.cpu.server * (r.last - r.first) * 1000) / UPDATES;
      const fanout = (perUpdate(b) - perUpdate(alone)) / WATCHERS;
      console.log(`  server CPU per update: ${(perUpdate(alone) / 1000).toFixed(2)} ms alone, ${(perUpdate(b) / 1000).toFixed(2)} ms with ${WATCHERS} watchers → ${fanout.toFixed(1)} µs per event delivered to one watcher`);
      return [
        `  ${'watch fan-out: write → last of 100 watchers, p50 / p99'.padEnd(52)}${percentile(delays, 50).toFixed(1).padStart(7)} / ${percentile(delays, 99).toFixed(1)} ms`,
        `  ${'watch fan-out: events delivered/s (100 watchers)'.padEnd(52)}${Math.round(eventsPerSec).toLocaleString('en-US').padStart(7)}`,
        ratioLine('updates/s with 100 watchers / without', withRate / aloneRate, undefined, `(${Math.round(withRate)} vs ${Math.round(aloneRate)} updates/s)`),
      ];
    } finally {
      await watchers.close();
    }
  } finally {
    await writerPool.close();
  }
}

const server = await startCliServer(['--storage-backend', STORAGE]);
try {
  console.log(`server under test: node packages/cli/bin/boundtoken.js ${server.args.join(' ').replace(/--data-dir \S+/, '--data-dir <tmp>')}  (compiled CLI, own process)`);
  console.log(`baseline: a plain node:https server in its own process, the same serving certificate, client CA, requestCert and TLS ≥ 1.2`);
  console.log(`load generator: this process (autocannon, ${CONNECTIONS} keep-alive connections, client certificates); ${availableParallelism()} cores, load average ${loadavg()[0]!.toFixed(1)} at start`);
  console.log(`rates: best of ${ROUNDS} interleaved rounds of ${SECONDS} s, each counted after every connection's TLS handshake; µs CPU/req: the server process's CPU time per request (median of the rounds)`);
  const { podPath } = await createWorkload(server);
  const summary: string[] = [];
  summary.push(...(await benchGet(server, podPath)));
  summary.push(...(await benchWatch(server)));
  console.log(`\nSummary (${availableParallelism()} cores, storage ${STORAGE})`);
  for (const line of summary) console.log(line);
} finally {
  await server.stop();
}
