/**
 * A/B of the server's hot paths: this checkout's compiled CLI against another checkout's (built
 * with `npx tsc -b`), both running at once, measured in interleaved rounds (best rate of each;
 * server CPU per request, the median of the rounds). For commit messages and for profiling, not
 * part of `npm run bench`:
 *
 *   node --conditions=@boundtoken/source --import tsx bench/ab.ts --base /path/to/checkout [scenario…]
 *
 * Scenarios: get (GET a pod as the admin), get-rbac (as an RBAC-bound user), review-cached,
 * review-uncached, token-request. Without --base only this checkout runs (e.g. under
 * BENCH_SERVER_NODE_OPTIONS=--cpu-prof to profile one load).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSigningKey } from '@boundtoken/token';
import { pkiPaths } from '@boundtoken/server';
import { createPodReaderRole, createWorkload, grant, NODE, type Workload } from './lib/fixtures.js';
import { bestOfRounds, describeCpu, peakRate, type Candidate, type LoadRequest } from './lib/https-load.js';
import { apiCall, mintIdentity, startCliServer, type CliServer, type Identity } from './lib/servers.js';
import { mintTokensLike, REVIEW_PATH, reviewBody, TOKEN_PATH, tokenRequestBody } from './lib/token-fixtures.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const STORAGE = process.env.BENCH_STORAGE ?? 'memory';
const SCENARIOS = ['get', 'get-rbac', 'review-cached', 'review-uncached', 'token-request'] as const;
type Scenario = (typeof SCENARIOS)[number];

const args = process.argv.slice(2);
const baseAt = args.indexOf('--base');
const base = baseAt >= 0 ? args.splice(baseAt, 2)[1] : undefined;
const chosen = (args.length > 0 ? args : SCENARIOS) as Scenario[];
for (const s of chosen) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s} (one of ${SCENARIOS.join(', ')})`);

interface Side {
  name: string;
  server: CliServer;
  workload: Workload;
  node: Identity;
  token: string;
  /** Granted on first use (a scenario may need it again). */
  reviewer?: Identity;
  reader?: Identity;
}

async function side(name: string, cli?: string): Promise<Side> {
  const server = await startCliServer(['--storage-backend', STORAGE], cli ? { cli } : {});
  const workload = await createWorkload(server);
  const node = await mintIdentity(server, `system:node:${NODE}`, ['system:nodes']);
  const first = await apiCall<{ status: { token: string } }>(server.url, node, 'POST', TOKEN_PATH, tokenRequestBody(workload));
  return { name, server, workload, node, token: first.body.status.token };
}

/** The load of one scenario on one side: who sends what, how many connections, how many requests. */
async function load(s: Side, scenario: Scenario, perRound: number): Promise<{ id: Identity; req: LoadRequest; connections: number; amount?: number }> {
  const { server, workload } = s;
  switch (scenario) {
    case 'get':
      return { id: server.admin, req: { method: 'GET', path: workload.podPath }, connections: 16 };
    case 'get-rbac': {
      s.reader ??= await grant(server, 'bench-pod-reader', await createPodReaderRole(server), async (i) => (await apiCall(server.url, i, 'GET', workload.podPath, undefined, { allow: [403] })).status === 200);
      return { id: s.reader, req: { method: 'GET', path: workload.podPath }, connections: 16 };
    }
    case 'token-request':
      return { id: s.node, req: { method: 'POST', path: TOKEN_PATH, body: tokenRequestBody(workload) }, connections: 32 };
    case 'review-cached':
    case 'review-uncached': {
      const review = async (id: Identity, token: string) =>
        (await apiCall<{ status?: { authenticated?: boolean } }>(server.url, id, 'POST', REVIEW_PATH, reviewBody(token), { allow: [403] })).body;
      const id = (s.reviewer ??= await grant(server, 'bench-token-reviewer', 'system:auth-delegator', async (i) => (await review(i, s.token)).status?.authenticated === true));
      if (scenario === 'review-cached') return { id, req: { method: 'POST', path: REVIEW_PATH, body: reviewBody(s.token) }, connections: 32 };
      const key = loadSigningKey(readFileSync(pkiPaths(server.dataDir).saKey, 'utf8'));
      const n = perRound * (ROUNDS + 1);
      const tokens = await mintTokensLike(s.token, key, n);
      let next = 0;
      return {
        id,
        req: {
          method: 'POST',
          path: REVIEW_PATH,
          body: () => {
            if (next >= tokens.length) throw new Error('ran out of distinct tokens');
            return reviewBody(tokens[next++]!);
          },
        },
        connections: 32,
        amount: perRound,
      };
    }
  }
}

const sides: Side[] = [await side('this checkout')];
if (base) sides.push(await side(`base (${base})`, join(base, 'packages/cli/bin/boundtoken.js')));
try {
  for (const scenario of chosen) {
    const loads = await Promise.all(sides.map((s) => load(s, scenario, Number(process.env.BENCH_UNCACHED ?? 4000))));
    const candidates: Candidate[] = sides.map((s, i) => {
      const l = loads[i]!;
      return {
        name: s.name,
        run: () => peakRate(s.server.url, l.id, l.req, { connections: l.connections, seconds: SECONDS, serverPids: [s.server.pid], ...(l.amount ? { amount: l.amount } : {}) }),
      };
    });
    if (scenario !== 'review-uncached') for (const c of candidates) await c.run(); // warm-up
    const rows = await bestOfRounds(candidates, ROUNDS);
    console.log(`\n${scenario}`);
    for (const r of rows) console.log(`  ${r.name.padEnd(40)}${Math.round(r.rps).toLocaleString('en-US').padStart(8)} req/s  ${r.cpuUsPerRequest.toFixed(1).padStart(7)} µs CPU/req   ${describeCpu(r.cpu)}`);
    if (rows.length === 2) console.log(`  this / base: rate ${(rows[0]!.rps / rows[1]!.rps).toFixed(2)}x, CPU per request ${(rows[0]!.cpuUsPerRequest / rows[1]!.cpuUsPerRequest).toFixed(2)}x`);
  }
} finally {
  await Promise.all(sides.map((s) => s.server.stop()));
}
