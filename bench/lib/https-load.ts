/**
 * HTTPS load generators for the server benchmarks, run from the benchmark process against a server
 * in another process (see `servers.ts`), with keep-alive connections and a client certificate:
 *
 * - `peakRate` — closed loop: `connections` keep-alive connections, each sending its next request
 *   as soon as the previous answer arrives (autocannon, which speaks HTTPS with `tlsOptions`),
 *   measured in the steady state: after every connection's TLS handshake, before the tail;
 * - `pacedRate` — open loop at a fixed rate (undici Pool): request i is due at t0 + i/rate and its
 *   latency counts from that moment, so a server that falls behind shows its queueing in the
 *   percentiles (no coordinated omission); microsecond resolution. The connections are opened
 *   (`GET /version`) before the schedule starts.
 *
 * Both report the CPU the server process(es) and this process used during the run (fraction of
 * one core), so that a reader can tell whether the server or the load generator was the limit.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { loadAutocannon } from './autocannon.js';
import { percentile } from './measure.js';
import type { Identity } from './servers.js';

export interface LoadRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  /** A fixed body, or one per request (`i` counts from 0 over the run). */
  body?: string | ((i: number) => string);
}

export interface CpuUse {
  /** Fraction of one core the measured server process(es) used. */
  server: number;
  /** Fraction of one core this process (the load generator) used. */
  loader: number;
}

export interface PeakResult {
  rps: number;
  requests: number;
  seconds: number;
  non2xx: number;
  errors: number;
  cpu: CpuUse;
}

export interface PacedResult extends PeakResult {
  targetRps: number;
  /** Latency percentiles in milliseconds, from each request's due time to the end of its answer. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    clockTicks = Number(r.stdout?.trim()) || 100;
  }
  return clockTicks;
}

/** CPU seconds (user + system, all threads) a process has used so far; 0 when unknown. */
function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // after "pid (comm) ": state is field 3, utime 14, stime 15 (1-based) → indices 11, 12 here
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return 0;
  }
}

/** Starts measuring CPU use; the returned function stops and reports. */
export function cpuMeter(pids: number[]): () => CpuUse {
  const start = performance.now();
  const server0 = pids.reduce((s, p) => s + processCpuSeconds(p), 0);
  const loader0 = process.cpuUsage();
  return () => {
    const wall = (performance.now() - start) / 1000;
    const server = pids.reduce((s, p) => s + processCpuSeconds(p), 0) - server0;
    const l = process.cpuUsage(loader0);
    return { server: server / wall, loader: (l.user + l.system) / 1e6 / wall };
  };
}

function bodyFor(req: LoadRequest): (i: number) => string | undefined {
  const b = req.body;
  if (b === undefined) return () => undefined;
  if (typeof b === 'string') return () => b;
  return b;
}

/**
 * The peak rate: `connections` keep-alive connections for `seconds` (or until `amount` answers),
 * each sending its next request as soon as it has the previous answer.
 */
export async function peakRate(
  url: string,
  id: Identity,
  req: LoadRequest,
  opts: { connections: number; seconds: number; amount?: number; serverPids: number[] },
): Promise<PeakResult> {
  const autocannon = await loadAutocannon();
  const body = bodyFor(req);
  let i = 0;
  const dynamic = typeof req.body === 'function';
  const headers = { Accept: 'application/json', ...(req.body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...req.headers };
  const request = dynamic
    ? { method: req.method, path: req.path, headers, setupRequest: (r: object) => ({ ...r, body: body(i++) }) }
    : { method: req.method, path: req.path, headers, ...(req.body !== undefined ? { body: req.body } : {}) };
  // the steady state only: from the moment every connection has had its first answer (TLS
  // handshakes done) to the last answers, leaving out the last `connections` (the tail, when
  // connections run out of work one by one)
  const c = opts.connections;
  const times: number[] = [];
  let meter: (() => CpuUse) | undefined;
  const run = autocannon({
    url,
    connections: c,
    pipelining: 1,
    ...(opts.amount !== undefined ? { amount: opts.amount } : { duration: opts.seconds }),
    tlsOptions: { ca: id.ca, ...(id.cert ? { cert: id.cert, key: id.key } : {}) },
    requests: [request],
  });
  run.on('response', () => {
    times.push(performance.now());
    if (times.length === c) meter = cpuMeter(opts.serverPids);
  });
  const r = await run;
  const cpu = meter ? meter() : { server: 0, loader: 0 };
  const n = times.length;
  if (n < 3 * c) throw new Error(`too few answers to measure (${n} with ${c} connections): run longer`);
  const seconds = (times[n - c - 1]! - times[c - 1]!) / 1000;
  const requests = n - 2 * c;
  // CPU was metered from the start of the window to the end of the run (n - c answers): as CPU
  // per answer, times the window's rate, it is the share of a core the window's rate took
  const metered = (performance.now() - times[c - 1]!) / 1000;
  const share = (f: number): number => ((f * metered) / (n - c)) * (requests / seconds);
  return { rps: requests / seconds, requests, seconds, non2xx: r.non2xx, errors: r.errors + r.timeouts, cpu: { server: share(cpu.server), loader: share(cpu.loader) } };
}

/**
 * A fixed rate: `rate` requests per second for `seconds`, over up to `connections` keep-alive
 * connections. Latency counts from each request's due time.
 */
export async function pacedRate(
  url: string,
  id: Identity,
  req: LoadRequest,
  opts: { rate: number; seconds: number; connections: number; serverPids: number[] },
): Promise<PacedResult> {
  const pool = new Pool(url, {
    connections: opts.connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    connect: { ca: id.ca, ...(id.cert ? { cert: id.cert, key: id.key } : {}) },
  });
  const body = bodyFor(req);
  const headers = { accept: 'application/json', ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}), ...req.headers };
  // open every connection first (TLS handshakes with client certificates), twice over, so that
  // the measured schedule starts on warm keep-alive connections
  for (let round = 0; round < 2; round++) {
    await Promise.all(
      Array.from({ length: opts.connections }, async () => {
        const res = await pool.request({ method: 'GET', path: '/version', headers: { accept: 'application/json' } });
        await res.body.dump();
      }),
    );
  }
  const total = Math.max(1, Math.round(opts.rate * opts.seconds));
  const latencies = new Float64Array(total);
  let done = 0;
  let non2xx = 0;
  let errors = 0;
  const intervalMs = 1000 / opts.rate;

  const meter = cpuMeter(opts.serverPids);
  const t0 = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const finish = (): void => {
      if (++done === total) resolve();
    };
    const fire = (n: number): void => {
      const due = t0 + n * intervalMs;
      pool
        .request({ method: req.method, path: req.path, headers, body: body(n) ?? null })
        .then(async (res) => {
          await res.body.dump();
          if (res.statusCode >= 300) non2xx++;
          latencies[n] = performance.now() - due;
        })
        .catch(() => {
          errors++;
          latencies[n] = performance.now() - due;
        })
        .finally(finish);
    };
    const tick = (): void => {
      const now = performance.now();
      while (sent < total && t0 + sent * intervalMs <= now) fire(sent++);
      if (sent < total) setTimeout(tick, Math.max(0, Math.min(1, t0 + sent * intervalMs - performance.now())));
    };
    tick();
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = meter();
  await pool.close();
  const lat = Array.from(latencies);
  return {
    targetRps: opts.rate,
    rps: total / seconds,
    requests: total,
    seconds,
    non2xx,
    errors,
    cpu,
    p50: percentile(lat, 50),
    p90: percentile(lat, 90),
    p99: percentile(lat, 99),
    max: Math.max(...lat),
  };
}

/** The CPU split of a run, for result lines. */
export function describeCpu(cpu: CpuUse): string {
  return `server ${Math.round(cpu.server * 100)}% / load ${Math.round(cpu.loader * 100)}% CPU`;
}

export interface Candidate {
  name: string;
  run: () => Promise<PeakResult>;
}

export interface Measured extends PeakResult {
  name: string;
  /** Server CPU microseconds per request, the median over the rounds. */
  cpuUsPerRequest: number;
}

/**
 * Runs the candidates in interleaved rounds and keeps each one's best round (the highest rate):
 * on a shared machine, load that comes and goes then hits every candidate alike instead of
 * whichever ran during a burst. The server CPU per request is the median over the rounds.
 */
export async function bestOfRounds(candidates: Candidate[], rounds: number): Promise<Measured[]> {
  const best = new Map<string, PeakResult>();
  const cpu = new Map<string, number[]>();
  for (let r = 0; r < rounds; r++) {
    for (const c of candidates) {
      const res = await c.run();
      if (res.errors > 0 || res.non2xx > 0) throw new Error(`${c.name}: ${res.non2xx} non-2xx answers, ${res.errors} errors`);
      if (!best.has(c.name) || res.rps > best.get(c.name)!.rps) best.set(c.name, res);
      cpu.set(c.name, [...(cpu.get(c.name) ?? []), (res.cpu.server * res.seconds * 1e6) / res.requests]);
    }
  }
  return candidates.map((c) => ({ ...best.get(c.name)!, name: c.name, cpuUsPerRequest: percentile(cpu.get(c.name)!, 50) }));
}

/**
 * Prints `operation  req/s  ratio  target  server µs/req  cost ratio` rows against `baseline`.
 * The cost ratio (baseline µs/req ÷ row µs/req) is what the rate ratio would be if both servers
 * had a core to themselves: a cross-check that load elsewhere on the machine cannot skew much.
 */
export function printServerRates(title: string, rows: Measured[], baseline: Measured, targets: Record<string, number> = {}): void {
  console.log(`\n${title}`);
  const w = Math.max(...rows.map((r) => r.name.length)) + 2;
  console.log(`  ${'operation'.padEnd(w)}${'req/s'.padStart(9)}${'ratio'.padStart(8)}  ${'target'.padEnd(8)}${'µs CPU/req'.padStart(11)}${'cost ratio'.padStart(12)}   CPU during the best round`);
  for (const r of rows) {
    const ratio = r.rps / baseline.rps;
    const target = targets[r.name];
    const t = target === undefined ? '' : `≥ ${target}x`;
    const cost = baseline.cpuUsPerRequest / r.cpuUsPerRequest;
    console.log(
      `  ${r.name.padEnd(w)}${Math.round(r.rps).toLocaleString('en-US').padStart(9)}${ratio.toFixed(2).padStart(7)}x  ${t.padEnd(8)}${r.cpuUsPerRequest.toFixed(1).padStart(11)}${cost.toFixed(2).padStart(11)}x   ${describeCpu(r.cpu)}`,
    );
  }
}

/** A summary line: `label  0.63x   target ≥ 0.6x   ok`. */
export function ratioLine(label: string, value: number, target?: number, note = ''): string {
  const t = target === undefined ? '' : `   target ≥ ${target}x   ${value >= target ? 'ok' : 'BELOW TARGET'}`;
  return `  ${label.padEnd(52)}${value.toFixed(2).padStart(7)}x${t}${note ? `   ${note}` : ''}`;
}
