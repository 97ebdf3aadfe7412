/**
 * The token APIs over HTTPS (issue #4), with keep-alive connections and client certificates,
 * against baselines measured in the same run:
 *
 * - TokenRequests/s — a node minting pod-bound tokens for its pod's service account, as the agent
 *   does — as a ratio to raw `crypto.sign`/s × cores with the same key and a signing input of the
 *   same size (target ≥ 0.8×), for RS256 (the bootstrapped key) and ES256 (a second server started
 *   with `--service-account-signing-key-file`);
 * - TokenReviews/s — a resource server (a user bound to system:auth-delegator) reviewing pod-bound
 *   tokens — as a ratio to an empty endpoint on a plain `node:https` server with the same TLS setup
 *   and the same request: uncached (every token distinct, minted beforehand with the server's key,
 *   so the 10 s success cache never hits; target ≥ 0.5×) and cached (one token again and again;
 *   target ≥ 0.8×);
 * - p50/p99 latency at a fixed rate of half the measured peak (an open loop: latency counts from
 *   each request's due time).
 *
 * The servers are the compiled `boundtoken server` CLI in their own processes (what users run,
 * with a signing worker per core); the load generator runs in this process. On a 2-core machine the
 * signing workers, the server's event loop and the load generator share the two cores: the ratio
 * to raw sign × cores says how much of the machine's signing capacity reaches clients as tokens.
 *
 *   npm run bench -- tokens
 */
import { sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKey, loadSigningKey, type SigningKey } from '@boundtoken/token';
import { pkiPaths } from '@boundtoken/server';
import { createWorkload, grant, NODE, type Workload } from './lib/fixtures.js';
import { bestOfRounds, describeCpu, pacedRate, peakRate, printServerRates, ratioLine, type LoadRequest, type Measured, type PacedResult } from './lib/https-load.js';
import { fmt, rateSync } from './lib/measure.js';
import { parallelSignRate } from './lib/parallel-sign.js';
import { mintTokensLike, REVIEW_PATH, reviewBody, TOKEN_PATH, tokenRequestBody } from './lib/token-fixtures.js';
import { apiCall, mintIdentity, startCliServer, startEmptyHttps, type CliServer, type Identity } from './lib/servers.js';

const cores = availableParallelism();
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PACED_SECONDS = 3;
const UNCACHED_SECONDS = 1.2;
const CONNECTIONS = 32;
const STORAGE = process.env.BENCH_STORAGE ?? 'sqlite';

interface Setup {
  server: CliServer;
  workload: Workload;
  node: Identity;
  key: SigningKey;
  token: string;
  /** The first TokenRequest's answer (for an endpoint that sends the same bytes). */
  answer: string;
}

async function setUp(server: CliServer, key: SigningKey): Promise<Setup> {
  const workload = await createWorkload(server);
  const node = await mintIdentity(server, `system:node:${NODE}`, ['system:nodes']);
  const first = await apiCall<{ status: { token: string } }>(server.url, node, 'POST', TOKEN_PATH, tokenRequestBody(workload));
  const token = first.body.status.token;
  const alg = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as { alg: string; kid: string };
  if (alg.kid !== key.kid || alg.alg !== key.alg) throw new Error(`the server signed with ${alg.alg} ${alg.kid}, expected ${key.alg} ${key.kid}`);
  return { server, workload, node, key, token, answer: JSON.stringify(first.body) };
}

/** Raw `crypto.verify` of the token's signature with the server's key. */
function rawVerify(key: SigningKey, token: string): () => unknown {
  const dot = token.lastIndexOf('.');
  const input = Buffer.from(token.slice(0, dot), 'latin1');
  const signature = Buffer.from(token.slice(dot + 1), 'base64url');
  const opts = key.alg.startsWith('ES') ? { key: key.key, dsaEncoding: 'ieee-p1363' as const } : key.key;
  return () => cryptoVerify('sha256', input, opts, signature);
}

/** Raw `crypto.sign` of an input the size of a token's signing input, with the server's key. */
function rawSign(key: SigningKey, token: string): () => unknown {
  const input = Buffer.from(token.slice(0, token.lastIndexOf('.')), 'latin1');
  const opts = key.alg.startsWith('ES') ? { key: key.privateKey, dsaEncoding: 'ieee-p1363' as const } : key.privateKey;
  return () => cryptoSign('sha256', input, opts);
}

/**
 * A fixed-rate run, twice, keeping the run with the lower p99: a burst of load elsewhere on a
 * shared machine stalls every request in flight, and would otherwise be what the p99 reports.
 */
async function pacedBest(...args: Parameters<typeof pacedRate>): Promise<PacedResult> {
  const a = await pacedRate(...args);
  const b = await pacedRate(...args);
  return a.p99 <= b.p99 ? a : b;
}

function latencyLine(label: string, r: PacedResult): string {
  const kept = r.rps >= r.targetRps * 0.95 ? '' : `  (fell behind: ${Math.round(r.rps)}/s achieved)`;
  return `  ${label.padEnd(52)}p50 ${r.p50.toFixed(1).padStart(6)} ms   p99 ${r.p99.toFixed(1).padStart(6)} ms   at ${fmt(r.targetRps)}/s${kept}${r.non2xx + r.errors ? `  ${r.non2xx + r.errors} failed` : ''}`;
}

async function benchTokenRequests(s: Setup, target?: number): Promise<string[]> {
  const alg = s.key.alg;
  const body = tokenRequestBody(s.workload);
  const req: LoadRequest = { method: 'POST', path: TOKEN_PATH, body };
  const sign = rawSign(s.key, s.token);
  const input = s.token.slice(0, s.token.lastIndexOf('.'));
  const run = () => peakRate(s.server.url, s.node, req, { connections: CONNECTIONS, seconds: SECONDS, serverPids: [s.server.pid] });
  // the floor of the HTTPS work per token: an empty endpoint answering the same request with the same bytes
  const empty = await startEmptyHttps(s.server.tls, s.answer);
  const runEmpty = () => peakRate(empty.url, s.node, { ...req, path: `/payload${TOKEN_PATH}` }, { connections: CONNECTIONS, seconds: SECONDS, serverPids: [empty.pid] });
  let raw = 0;
  let parallel = 0;
  let tr: Measured;
  let https: Measured;
  try {
    await run(); // warm-up
    await runEmpty();
    // raw sign (one thread, and all cores at once), the empty endpoint and TokenRequests in interleaved rounds, the best of each
    [tr, https] = (await bestOfRounds(
      [
        {
          name: `TokenRequest ${alg}`,
          run: async () => {
            raw = Math.max(raw, rateSync('raw sign', sign, 500).opsPerSec);
            parallel = Math.max(parallel, await parallelSignRate(s.key.privateKeyPem, alg !== 'RS256', input, cores, 500));
            return run();
          },
        },
        { name: 'empty endpoint, same bytes', run: runEmpty },
      ],
      ROUNDS,
    )) as [Measured, Measured];
  } finally {
    await empty.stop();
  }
  const baseline = raw * cores;
  const t = target === undefined ? '(no target)' : `target ≥ ${target}x`;
  console.log(`\n${alg} TokenRequests over HTTPS (a node minting pod-bound 3607 s tokens, ${CONNECTIONS} keep-alive connections), vs raw crypto.sign × ${cores} cores`);
  console.log(`  raw crypto.sign, 1 thread             ${fmt(raw).padStart(9)}/s   × ${cores} cores = ${fmt(baseline)}/s`);
  console.log(`  raw crypto.sign, ${cores} threads at once   ${fmt(parallel).padStart(9)}/s   (what the machine gave ${cores} signing threads during the run)`);
  console.log(
    `  TokenRequests                         ${fmt(tr.rps).padStart(9)}/s   ${(tr.rps / baseline).toFixed(2)}x ${t}; ${(tr.rps / parallel).toFixed(2)}x of ${cores} threads at once; ` +
      `${tr.cpuUsPerRequest.toFixed(0)} µs server CPU per token (${describeCpu(tr.cpu)})`,
  );
  // The cores are shared by the signing threads, the server's event loop and the load generator:
  // per token, signing takes `sign` µs of some core, the HTTPS exchange at least what the empty
  // endpoint spends on the same request and answer, and the load generator its share. Even a
  // server doing nothing else reaches at most sign / (sign + https + load) of raw sign × cores.
  const signUs = 1e6 / raw;
  const loadUs = (tr.cpu.loader / tr.rps) * 1e6;
  const ceiling = signUs / (signUs + https.cpuUsPerRequest + loadUs);
  const restUs = Math.max(0, tr.cpuUsPerRequest - signUs);
  const ceilingNote =
    `ceiling ${ceiling.toFixed(2)}x on this machine: per token ${signUs.toFixed(0)} µs signing + ≥ ${https.cpuUsPerRequest.toFixed(0)} µs HTTPS ` +
    `(an empty endpoint answering the same bytes) + ${loadUs.toFixed(0)} µs of load generator on the same ${cores} cores; this server spends ` +
    `${restUs.toFixed(0)} µs besides signing (→ ${(signUs / (signUs + restUs + loadUs)).toFixed(2)}x)`;
  // the target as a budget: at `target` × raw sign × cores, every core's time per token is
  // signUs / target, of which signing and the load generator take their share
  const budgetNote =
    target === undefined
      ? undefined
      : `${target}x leaves a server ${Math.max(0, signUs / target - signUs - loadUs).toFixed(0)} µs of CPU per token besides signing, its HTTPS exchange included`;
  console.log(`  ${ceilingNote}`);
  if (budgetNote) console.log(`  ${budgetNote}`);
  const half = await pacedBest(s.server.url, s.node, req, { rate: Math.max(1, Math.round(tr.rps / 2)), seconds: PACED_SECONDS, connections: CONNECTIONS, serverPids: [s.server.pid] });
  console.log(latencyLine('  at half the peak rate', half));
  return [
    ratioLine(`TokenRequest ${alg} / (raw sign × ${cores} cores)`, tr.rps / baseline, target, `(${fmt(tr.rps)} vs ${fmt(baseline)}/s; ${(tr.rps / parallel).toFixed(2)}x of ${cores} signing threads at once)`),
    `  ${''.padEnd(52)}        ${ceilingNote}`,
    ...(budgetNote ? [`  ${''.padEnd(52)}        ${budgetNote}`] : []),
    latencyLine(`TokenRequest ${alg} latency at half the peak`, half),
  ];
}

/** Distinct pod-bound tokens signed with the server's key, as the server itself would issue them. */
function mintTokens(s: Setup, n: number): Promise<string[]> {
  return mintTokensLike(s.token, s.key, n);
}

async function benchTokenReviews(s: Setup): Promise<string[]> {
  const { server } = s;
  const review = async (id: Identity, token: string) =>
    (await apiCall<{ status: { authenticated?: boolean; error?: string } }>(server.url, id, 'POST', REVIEW_PATH, reviewBody(token), { allow: [403] })).body;
  const reviewer = await grant(server, 'bench-token-reviewer', 'system:auth-delegator', async (id) => (await review(id, s.token)).status?.authenticated === true);
  // the baseline answers a small object; under /payload it answers what the server answers
  const answer = JSON.stringify(await review(reviewer, s.token));
  const empty = await startEmptyHttps(server.tls, answer);
  try {
    const cachedReq: LoadRequest = { method: 'POST', path: REVIEW_PATH, body: reviewBody(s.token) };
    const peak = (url: string, pid: number, req: LoadRequest, amount?: number) =>
      peakRate(url, reviewer, req, { connections: CONNECTIONS, seconds: SECONDS, serverPids: [pid], ...(amount !== undefined ? { amount } : {}) });
    await peak(empty.url, empty.pid, cachedReq); // warm-up
    // distinct tokens: a first batch measures the uncached rate, which sizes the rest (about
    // UNCACHED_SECONDS per round; then two runs at half the measured rate)
    let mintSeconds = 0;
    const mint = async (n: number): Promise<string[]> => {
      const started = Date.now();
      const minted = await mintTokens(s, n);
      mintSeconds += (Date.now() - started) / 1000;
      return minted;
    };
    const tokens = await mint(1000 + 2 * CONNECTIONS);
    let next = 0;
    const fresh = (): string => {
      if (next >= tokens.length) throw new Error('ran out of distinct tokens');
      return reviewBody(tokens[next++]!);
    };
    const probe = await peak(server.url, server.pid, { method: 'POST', path: REVIEW_PATH, body: fresh }, 1000);
    const perRound = Math.min(10_000, Math.max(500, Math.round(probe.rps * UNCACHED_SECONDS)));
    tokens.push(...(await mint(perRound * ROUNDS + 2 * CONNECTIONS * (ROUNDS + 2))));
    for (const t of [tokens[0]!, tokens[tokens.length - 1]!]) {
      const r = await review(reviewer, t);
      if (r.status?.authenticated !== true) throw new Error(`a minted token does not authenticate: ${r.status?.error}`);
    }
    const uncachedReq: LoadRequest = { method: 'POST', path: REVIEW_PATH, body: fresh };
    const verify = rawVerify(s.key, s.token);
    let verifyRate = 0;
    const [base, sameBytes, uncached, cached] = (await bestOfRounds(
      [
        { name: 'empty node:https endpoint (same TLS, same body)', run: () => peak(empty.url, empty.pid, cachedReq) },
        { name: 'node:https answering the same bytes', run: () => peak(empty.url, empty.pid, { ...cachedReq, path: `/payload${REVIEW_PATH}` }) },
        {
          name: 'TokenReview, uncached (every token new)',
          run: () => {
            verifyRate = Math.max(verifyRate, rateSync('raw verify', verify, 300).opsPerSec);
            return peak(server.url, server.pid, uncachedReq, perRound);
          },
        },
        { name: 'TokenReview, cached (one token)', run: () => peak(server.url, server.pid, cachedReq) },
      ],
      ROUNDS,
    )) as [Measured, Measured, Measured, Measured];
    printServerRates(
      `TokenReviews over HTTPS (${s.key.alg} pod-bound tokens, a system:auth-delegator user, ${CONNECTIONS} keep-alive connections), vs an empty HTTPS endpoint`,
      [base, sameBytes, uncached, cached],
      base,
      { [uncached.name]: 0.5, [cached.name]: 0.8 },
    );
    // An uncached review verifies a signature (on libuv's thread pool, but with the same CPU): even
    // with nothing else to do, a review costs the empty endpoint's request plus one verification.
    const verifyUs = 1e6 / verifyRate;
    const uncachedNote =
      `ceiling ${(base.cpuUsPerRequest / (base.cpuUsPerRequest + verifyUs)).toFixed(2)}x in CPU per review: the empty endpoint's ` +
      `${base.cpuUsPerRequest.toFixed(0)} µs + one ${s.key.alg} verification (raw crypto.verify, ${verifyUs.toFixed(0)} µs)`;
    const cachedNote =
      `ceiling ${(sameBytes.rps / base.rps).toFixed(2)}x for any server sending this ${answer.length}-byte answer over this TLS setup; ` +
      `this server: ${Math.max(0, cached.cpuUsPerRequest - sameBytes.cpuUsPerRequest).toFixed(0)} µs per review beyond that transport, ` +
      // one event loop answers: 0.8× the empty endpoint's rate is 1/0.8 of its CPU per request
      `where 0.8x would leave ${Math.max(0, base.cpuUsPerRequest / 0.8 - sameBytes.cpuUsPerRequest).toFixed(0)} µs`;
    console.log(`  uncached: ${uncachedNote}`);
    console.log(`  cached: ${cachedNote}`);
    // two runs at half the uncached peak, with tokens no run has used
    const halfRate = Math.max(1, Math.round(uncached.rps / 2));
    tokens.push(...(await mint(Math.max(0, 2 * halfRate * PACED_SECONDS + 4 * CONNECTIONS - (tokens.length - next)))));
    console.log(`  (${tokens.length} distinct tokens, minted with the server's key in ${mintSeconds.toFixed(1)} s, for the uncached reviews)`);
    const halfUncached = await pacedBest(server.url, reviewer, uncachedReq, {
      rate: halfRate,
      seconds: PACED_SECONDS,
      connections: CONNECTIONS,
      serverPids: [server.pid],
    });
    const halfCached = await pacedBest(server.url, reviewer, cachedReq, { rate: Math.max(1, Math.round(cached.rps / 2)), seconds: PACED_SECONDS, connections: CONNECTIONS, serverPids: [server.pid] });
    console.log(latencyLine('  uncached, at half the peak rate', halfUncached));
    console.log(latencyLine('  cached, at half the peak rate', halfCached));
    return [
      ratioLine('TokenReview uncached / empty HTTPS endpoint', uncached.rps / base.rps, 0.5, `(${fmt(uncached.rps)} vs ${fmt(base.rps)} req/s; cost ratio ${(base.cpuUsPerRequest / uncached.cpuUsPerRequest).toFixed(2)}x)`),
      `  ${''.padEnd(52)}        ${uncachedNote}`,
      ratioLine('TokenReview cached / empty HTTPS endpoint', cached.rps / base.rps, 0.8, `(${fmt(cached.rps)} req/s; cost ratio ${(base.cpuUsPerRequest / cached.cpuUsPerRequest).toFixed(2)}x)`),
      `  ${''.padEnd(52)}        ${cachedNote}`,
      latencyLine('TokenReview uncached latency at half the peak', halfUncached),
      latencyLine('TokenReview cached latency at half the peak', halfCached),
    ];
  } finally {
    await empty.stop();
  }
}

const summary: string[] = [];
console.log(`servers under test: node packages/cli/bin/boundtoken.js server --storage-backend ${STORAGE} … (compiled CLI, own process, ${cores} signing workers); ES256: + --service-account-signing-key-file <P-256 key>`);
console.log(`load generator: this process (autocannon for peaks, an undici open loop for fixed rates; keep-alive, client certificates); ${cores} cores, load average ${loadavg()[0]!.toFixed(1)} at start`);
console.log(`peaks: best of ${ROUNDS} interleaved rounds of ${SECONDS} s, each counted after every connection's TLS handshake; latencies: ${PACED_SECONDS} s at half the peak rate, the better of 2 runs`);

const rsa = await startCliServer(['--storage-backend', STORAGE]);
try {
  const s = await setUp(rsa, loadSigningKey(readFileSync(pkiPaths(rsa.dataDir).saKey, 'utf8')));
  summary.push(...(await benchTokenRequests(s, 0.8)));
  summary.push(...(await benchTokenReviews(s)));
} finally {
  await rsa.stop();
}

const ecKey = generateSigningKey({ type: 'ec', curve: 'P-256' });
const ecDir = mkdtempSync(join(tmpdir(), 'boundtoken-bench-es256-'));
const ecFile = join(ecDir, 'sa-es256.key');
writeFileSync(ecFile, ecKey.privateKeyPem, { mode: 0o600 });
const ec = await startCliServer(['--storage-backend', STORAGE, '--service-account-signing-key-file', ecFile]);
try {
  // no target: at ~40 µs a signature, the HTTPS request rather than the signature sets the rate
  summary.push(...(await benchTokenRequests(await setUp(ec, ecKey))));
} finally {
  await ec.stop();
  rmSync(ecDir, { recursive: true, force: true });
}

console.log(`\nSummary (${cores} cores, load average ${loadavg()[0]!.toFixed(1)} at the end)`);
for (const line of summary) console.log(line);
