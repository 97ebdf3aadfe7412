/**
 * Workload SDK rates against baselines measured in the same run:
 * - offline verification (`createVerifier` with an issuer's JWKS served over loopback HTTP) vs raw
 *   `crypto.verify` of the same token (target ≥ 0.8×), vs `jose.jwtVerify` + `createLocalJWKSet`
 *   and `jsonwebtoken.verify` + `jwks-rsa` (what users would otherwise pick; target ≥ 4× jose);
 * - online verification answered from the TokenReview cache, and uncached (a loopback round trip);
 * - a node:http server with the auth middleware vs the same server without it (autocannon over
 *   loopback; the servers run in a child process so the load generator has its own core).
 *
 *   npm run bench -- client
 */
import { fork, type ChildProcess } from 'node:child_process';
import { verify as cryptoVerify } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';
import jsonwebtoken from 'jsonwebtoken';
import jwksRsa from 'jwks-rsa';
import { buildClaims, createSigner, generateSigningKey, jwksDocument, type SigningKey } from '@boundtoken/token';
import { createVerifier, withAuth } from '@boundtoken/client';
import { performance } from 'node:perf_hooks';
import { loadAutocannon } from './lib/autocannon.js';
import { fmt, printRates, type Rate } from './lib/measure.js';

const MS = Number(process.env.BENCH_MS ?? 1500);
const ISSUER_PATH = '/issuer';
const AUDIENCE = 'istio-ca';

function tokenFor(key: SigningKey, issuer: string, now: number): string {
  return createSigner(key).sign(
    buildClaims(
      {
        issuer,
        audiences: [AUDIENCE],
        serviceAccount: { namespace: 'istio-system', name: 'aspen-mesh-metrics-collector', uid: '3f6c8a0e-5b1d-4a8e-9c2f-7d4e1b0a6c93' },
        pod: { name: 'collector-7d9f8c6b5d-x2x4q', uid: '8a1e2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b' },
        node: { name: 'node-1', uid: 'c0ffee00-1234-4abc-9def-0123456789ab' },
        expirationSeconds: 43200,
      },
      now,
    ),
  );
}

/** A loopback issuer (discovery + JWKS) and TokenReview endpoint, plain HTTP. */
async function startIssuer(key: SigningKey): Promise<{ url: string; issuer: string; close: () => Promise<void> }> {
  let issuer = '';
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.url === `${ISSUER_PATH}/.well-known/openid-configuration`) {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=3600' });
        res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/openid/v1/jwks`, id_token_signing_alg_values_supported: [key.alg] }));
      } else if (req.url === `${ISSUER_PATH}/openid/v1/jwks`) {
        res.writeHead(200, { 'Content-Type': 'application/jwk-set+json', 'Cache-Control': 'public, max-age=3600' });
        res.end(jwksDocument([key]));
      } else if (req.url === '/apis/authentication.k8s.io/v1/tokenreviews') {
        const spec = (JSON.parse(body) as { spec: { audiences: string[] } }).spec;
        res.writeHead(201, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({
            kind: 'TokenReview',
            apiVersion: 'authentication.k8s.io/v1',
            spec,
            status: {
              authenticated: true,
              user: {
                username: 'system:serviceaccount:istio-system:aspen-mesh-metrics-collector',
                uid: '3f6c8a0e-5b1d-4a8e-9c2f-7d4e1b0a6c93',
                groups: ['system:serviceaccounts', 'system:serviceaccounts:istio-system', 'system:authenticated'],
                extra: { 'authentication.kubernetes.io/pod-name': ['collector-7d9f8c6b5d-x2x4q'], 'authentication.kubernetes.io/pod-uid': ['8a1e2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b'] },
              },
              audiences: spec.audiences,
            },
          }),
        );
      } else {
        res.writeHead(404);
        res.end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  issuer = url + ISSUER_PATH;
  return {
    url,
    issuer,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/**
 * Rates of several operations measured in turns (`rounds` slices each, round-robin) and reported
 * as the median slice, so that a burst of load elsewhere on the machine does not favour one of them.
 */
async function interleaved(candidates: [string, () => unknown][], totalMs: number, rounds = 10): Promise<Rate[]> {
  const slice = totalMs / rounds / candidates.length;
  const samples = candidates.map(() => [] as number[]);
  for (const [, fn] of candidates) for (let i = 0; i < 200; i++) await fn(); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (let c = 0; c < candidates.length; c++) {
      const fn = candidates[c]![1];
      let n = 0;
      const start = performance.now();
      const end = start + slice;
      let t = start;
      while (t < end) {
        for (let i = 0; i < 8; i++) {
          const x = fn();
          if (x instanceof Promise) await x;
        }
        n += 8;
        t = performance.now();
      }
      samples[c]!.push((n * 1000) / (t - start));
    }
  }
  return candidates.map(([name], c) => {
    const s = samples[c]!.sort((a, b) => a - b);
    return { name, opsPerSec: s[s.length >> 1]! };
  });
}

function ratioLine(label: string, value: number, target?: number): string {
  const t = target === undefined ? '' : `   target ≥ ${target}x   ${value >= target ? 'ok' : 'BELOW TARGET'}`;
  return `  ${label.padEnd(48)}${value.toFixed(2).padStart(7)}x${t}`;
}

async function benchVerify(alg: 'RS256' | 'ES256', key: SigningKey): Promise<string[]> {
  const now = Math.floor(Date.now() / 1000);
  const iss = await startIssuer(key);
  const token = tokenFor(key, iss.issuer, now);
  const dot = token.lastIndexOf('.');
  const input = Buffer.from(token.slice(0, dot), 'latin1');
  const signature = Buffer.from(token.slice(dot + 1), 'base64url');
  const verifyKey = alg === 'RS256' ? key.key : { key: key.key, dsaEncoding: 'ieee-p1363' as const };
  if (!cryptoVerify('sha256', input, verifyKey, signature)) throw new Error('baseline does not verify');

  // ours: issuer → discovery → JWKS, fetched once over loopback; every call checks the signature
  const offline = createVerifier({ issuer: iss.issuer, audiences: [AUDIENCE], cacheTtlMs: 0 });
  await offline.verify(token);
  const offlineCached = createVerifier({ issuer: iss.issuer, audiences: [AUDIENCE] });
  await offlineCached.verify(token);
  // jose: the same JWKS as a local key set
  const jwks = JSON.parse(jwksDocument([key])) as jose.JSONWebKeySet;
  const localSet = jose.createLocalJWKSet(jwks);
  const joseOpts = { issuer: iss.issuer, audience: AUDIENCE, algorithms: [alg] };
  await jose.jwtVerify(token, localSet, joseOpts);
  // jsonwebtoken + jwks-rsa (the JWKS fetched from the same loopback issuer, cached by jwks-rsa)
  const jwksClient = jwksRsa({ jwksUri: `${iss.issuer}/openid/v1/jwks`, cache: true });
  const jwtOpts: jsonwebtoken.VerifyOptions = { algorithms: [alg], issuer: iss.issuer, audience: AUDIENCE };
  const getKey: jsonwebtoken.GetPublicKeyOrSecret = (header, cb) => {
    jwksClient.getSigningKey(header.kid).then(
      (k) => cb(null, k.getPublicKey()),
      (err: Error) => cb(err),
    );
  };
  const jwtVerify = () =>
    new Promise<unknown>((resolve, reject) => jsonwebtoken.verify(token, getKey, jwtOpts, (err, decoded) => (err ? reject(err) : resolve(decoded))));
  await jwtVerify();

  // the least any verifier does besides crypto.verify: decode the payload and parse its JSON
  const payloadPart = token.slice(token.indexOf('.') + 1, dot);

  // Interleaved, so that load from elsewhere on the machine hits every candidate alike.
  const [raw, ours, joseRate, jwtRate, parse] = await interleaved(
    [
      ['raw crypto.verify', () => cryptoVerify('sha256', input, verifyKey, signature)],
      ['boundtoken offline verify (JWKS)', () => offline.verify(token)],
      ['jose jwtVerify + createLocalJWKSet', () => jose.jwtVerify(token, localSet, joseOpts)],
      ['jsonwebtoken.verify + jwks-rsa', jwtVerify],
      ['payload base64url + JSON.parse', () => JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8'))],
    ],
    MS * 4,
  );
  printRates(`${alg} offline verification (every call checks the signature), vs raw crypto.verify`, [raw!, ours!, joseRate!, jwtRate!, parse!], raw!, {
    'boundtoken offline verify (JWKS)': '≥ 0.80x',
  });
  // a verifier that did nothing but crypto.verify and parse the claims would reach this
  const ceiling = 1 / raw!.opsPerSec / (1 / raw!.opsPerSec + 1 / parse!.opsPerSec);
  offline.close();

  // cached: the offline result cache, and TokenReview answers from the online cache
  const cached = createVerifier({ mode: 'online', audiences: [AUDIENCE], cluster: { server: iss.url } });
  await cached.verify(token);
  const uncached = createVerifier({ mode: 'online', audiences: [AUDIENCE], cluster: { server: iss.url }, cacheTtlMs: 0 });
  await uncached.verify(token);
  const [raw2, offlineCachedRate, cachedRate, uncachedRate] = await interleaved(
    [
      ['raw crypto.verify', () => cryptoVerify('sha256', input, verifyKey, signature)],
      ['offline verify, cached (10 s TTL)', () => offlineCached.verify(token)],
      ['online verify, cached (10 s TTL)', () => cached.verify(token)],
      ['online verify, uncached (TokenReview)', () => uncached.verify(token)],
    ],
    MS * 3,
  );
  printRates(`${alg} cached verification, vs raw crypto.verify`, [raw2!, offlineCachedRate!, cachedRate!, uncachedRate!], raw2!);
  cached.close();
  uncached.close();
  offlineCached.close();
  await iss.close();

  return [
    ratioLine(`${alg} offline verify / raw crypto.verify`, ours!.opsPerSec / raw!.opsPerSec, 0.8) +
      `  (ceiling ${ceiling.toFixed(2)}x: ${(1e6 / raw!.opsPerSec).toFixed(1)} µs verify + ≥ ${(1e6 / parse!.opsPerSec).toFixed(1)} µs decoding and parsing the claims)`,
    ratioLine(`${alg} offline verify / jose + createLocalJWKSet`, ours!.opsPerSec / joseRate!.opsPerSec, 4) +
      `  (ceiling: raw crypto.verify / jose = ${(raw!.opsPerSec / joseRate!.opsPerSec).toFixed(2)}x; with the claims parsed ${((ceiling * raw!.opsPerSec) / joseRate!.opsPerSec).toFixed(2)}x)`,
    ratioLine(`${alg} offline verify / jsonwebtoken + jwks-rsa`, ours!.opsPerSec / jwtRate!.opsPerSec),
    `  ${`${alg} cached verifications/s (offline / online)`.padEnd(48)}${fmt(offlineCachedRate!.opsPerSec).padStart(10)} / ${fmt(cachedRate!.opsPerSec)}`,
  ];
}

// ---- middleware: the servers run in a child process (this file, with --servers) ----

async function runServers(): Promise<void> {
  const key = generateSigningKey({ type: 'rsa', bits: 2048 });
  const issuer = 'https://issuer.bench';
  const verifier = createVerifier({ issuer, audiences: [AUDIENCE], keys: [key] });
  const uncachedVerifier = createVerifier({ issuer, audiences: [AUDIENCE], keys: [key], cacheTtlMs: 0 });
  const handler = (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 2 });
    res.end('ok');
  };
  const plain = http.createServer(handler);
  const guarded = http.createServer(withAuth({ verifier }, handler));
  const uncached = http.createServer(withAuth({ verifier: uncachedVerifier }, handler));
  await Promise.all([plain, guarded, uncached].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
  process.send!({
    token: tokenFor(key, issuer, Math.floor(Date.now() / 1000)),
    plain: (plain.address() as AddressInfo).port,
    guarded: (guarded.address() as AddressInfo).port,
    uncached: (uncached.address() as AddressInfo).port,
  });
}

async function load(url: string, headers: Record<string, string>): Promise<Rate & { non2xx: number }> {
  const seconds = Math.max(2, Math.round((MS * 2) / 1000));
  const autocannon = await loadAutocannon();
  const r = await autocannon({ url, connections: 16, pipelining: 1, duration: seconds, headers });
  return { name: url, opsPerSec: r.requests.average, non2xx: r.non2xx + r.errors };
}

async function benchMiddleware(): Promise<string[]> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--servers'], { stdio: 'inherit' });
  try {
    type Info = { token: string; plain: number; guarded: number; uncached: number };
    const info = await new Promise<Info>((resolve, reject) => {
      child.once('message', (m) => resolve(m as Info));
      child.once('exit', (code) => reject(new Error(`server process exited with ${code}`)));
    });
    const headers = { authorization: `Bearer ${info.token}` };
    await load(`http://127.0.0.1:${info.plain}/`, headers); // warm-up
    const plain = await load(`http://127.0.0.1:${info.plain}/`, headers);
    const guarded = await load(`http://127.0.0.1:${info.guarded}/`, headers);
    const uncached = await load(`http://127.0.0.1:${info.uncached}/`, headers);
    if (plain.non2xx || guarded.non2xx || uncached.non2xx) throw new Error(`non-2xx answers: ${plain.non2xx} / ${guarded.non2xx} / ${uncached.non2xx}`);
    const rows: Rate[] = [
      { name: 'node:http, no auth', opsPerSec: plain.opsPerSec },
      { name: 'node:http + withAuth (offline, RS256, default cache)', opsPerSec: guarded.opsPerSec },
      { name: 'node:http + withAuth (offline, RS256, no cache)', opsPerSec: uncached.opsPerSec },
    ];
    printRates('Middleware requests/s (autocannon, 16 connections, one token, loopback), vs the same server without it', rows, rows[0]!);
    return [
      `  ${'middleware req/s / same server without it'.padEnd(48)}${(guarded.opsPerSec / plain.opsPerSec).toFixed(2).padStart(7)}x   (${fmt(guarded.opsPerSec)} vs ${fmt(plain.opsPerSec)} req/s)`,
      `  ${'  … with every signature checked (no cache)'.padEnd(48)}${(uncached.opsPerSec / plain.opsPerSec).toFixed(2).padStart(7)}x   (${fmt(uncached.opsPerSec)} req/s)`,
    ];
  } finally {
    child.kill();
  }
}

if (process.argv.includes('--servers')) {
  await runServers();
} else {
  const summary: string[] = [];
  summary.push(...(await benchVerify('RS256', generateSigningKey({ type: 'rsa', bits: 2048 }))));
  summary.push(...(await benchVerify('ES256', generateSigningKey({ type: 'ec', curve: 'P-256' }))));
  summary.push(...(await benchMiddleware()));
  console.log(`\nSummary (${availableParallelism()} cores, ${MS} ms per measurement)`);
  for (const line of summary) console.log(line);
}
