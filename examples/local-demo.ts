/**
 * The whole flow on one machine, no cluster needed: an issuer (what `boundtoken server` is) serves
 * OIDC discovery, a JWKS and TokenReview on loopback; a stand-in for the node agent writes the
 * sender's `istio-token` into an AtomicWriter volume and rotates it; the receiver checks each
 * request offline and online; wrong-audience and expired tokens are refused with their codes.
 *
 *   npm run build && node --import tsx examples/local-demo.ts
 */
import { mkdtempSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildClaims, createSigner, createVerifier as createTokenVerifier, generateSigningKey, jwksDocument } from '@boundtoken/token';
import { TokenFile, createVerifier, withAuth, withToken, type Verifier } from '@boundtoken/client';

const now = () => Math.floor(Date.now() / 1000);
const key = generateSigningKey({ type: 'ec', curve: 'P-256' });
const signer = createSigner(key);
const SA = { namespace: 'istio-system', name: 'aspen-mesh-metrics-collector', uid: '6a4cbd2e-8c5e-4c4f-9a57-0b9e6d1f2a11' };
const POD = { name: 'metrics-collector', uid: '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9' };
const deletedPods = new Set<string>();

function issue(over: { audiences?: string[]; expirationSeconds?: number; at?: number } = {}): string {
  return signer.sign(
    buildClaims(
      { issuer, audiences: over.audiences ?? ['istio-ca'], serviceAccount: SA, pod: POD, node: { name: 'node-1', uid: 'n-1' }, expirationSeconds: over.expirationSeconds ?? 43200 },
      over.at ?? now(),
    ),
  );
}

// 1. The issuer: discovery, JWKS and TokenReview, as the API server serves them.
let issuer = '';
const api = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=3600' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration') return json(200, { issuer, jwks_uri: `${issuer}/openid/v1/jwks` });
    if (req.url === '/openid/v1/jwks') return json(200, JSON.parse(jwksDocument([key])));
    if (req.url === '/apis/authentication.k8s.io/v1/tokenreviews' && req.method === 'POST') {
      const { spec } = JSON.parse(Buffer.concat(chunks).toString()) as { spec: { token: string; audiences: string[] } };
      try {
        const v = createTokenVerifier({ keys: [key], issuers: [issuer] }).verify(spec.token, spec.audiences);
        const k = v.claims['kubernetes.io'];
        if (k.pod && deletedPods.has(k.pod.uid)) throw new Error('service account token has been invalidated');
        return json(201, {
          kind: 'TokenReview',
          apiVersion: 'authentication.k8s.io/v1',
          spec,
          status: {
            authenticated: true,
            user: {
              username: v.claims.sub,
              uid: k.serviceaccount.uid,
              groups: ['system:serviceaccounts', `system:serviceaccounts:${k.namespace}`, 'system:authenticated'],
              extra: { 'authentication.kubernetes.io/pod-name': [k.pod!.name], 'authentication.kubernetes.io/pod-uid': [k.pod!.uid], 'authentication.kubernetes.io/credential-id': [`JTI=${v.claims.jti}`] },
            },
            audiences: v.audiences,
          },
        });
      } catch (err) {
        return json(201, { kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', spec, status: { user: {}, error: (err as Error).message } });
      }
    }
    json(404, { kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 });
  });
});
await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
issuer = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
console.log(`issuer        ${issuer}`);

// 2. The node agent's part: an AtomicWriter volume with the sender's istio-token.
const volume = mkdtempSync(join(tmpdir(), 'istio-token-'));
function project(token: string): void {
  const old = existsSync(join(volume, '..data')) ? readlinkSync(join(volume, '..data')) : undefined;
  const ts = mkdtempSync(join(volume, `..${new Date().toISOString().replace(/\D/g, '_').slice(0, 19)}.`));
  writeFileSync(join(ts, 'istio-token'), token, { mode: 0o644 });
  symlinkSync(ts.slice(volume.length + 1), join(volume, '..data_tmp'));
  renameSync(join(volume, '..data_tmp'), join(volume, '..data'));
  if (!existsSync(join(volume, 'istio-token'))) symlinkSync('..data/istio-token', join(volume, 'istio-token'));
  if (old) rmSync(join(volume, old), { recursive: true });
}
project(issue());
console.log(`volume        ${volume}`);

// 3. Two receivers: offline (discovery + JWKS) and online (TokenReview).
async function receiver(verifier: Verifier): Promise<string> {
  const srv = http.createServer(
    withAuth({ verifier, onReject: (e) => console.log(`  ${verifier.mode} receiver refused: ${e.code} — ${e.reason}`) }, (req, res) => {
      res.end(`hello ${req.identity.serviceAccount.name} from pod ${req.identity.pod?.name} (token ${req.identity.jti})`);
    }),
  );
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  servers.push(srv);
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}/`;
}
const servers: http.Server[] = [api];
const offline = createVerifier({ issuer, audiences: ['istio-ca'] });
const online = createVerifier({ mode: 'online', audiences: ['istio-ca'], cluster: { server: issuer }, cacheTtlMs: 0 });
const receivers = { offline: await receiver(offline), online: await receiver(online) };

// 4. The sender: its TokenFile follows rotations; every request carries the current token.
const tokenFile = await TokenFile.open(join(volume, 'istio-token'));
const send = withToken(tokenFile);
async function round(label: string): Promise<void> {
  console.log(label);
  for (const [mode, url] of Object.entries(receivers)) {
    const res = await send(url);
    console.log(`  ${mode.padEnd(7)} ${res.status} ${await res.text()}`);
  }
}

await round('a fresh token:');
const rotated = new Promise<void>((resolve) => tokenFile.onChange(() => resolve()));
project(issue());
await rotated;
await round('after the agent rotated it:');

console.log('other tokens, sent by hand:');
for (const [label, token] of [
  ['audience vault', issue({ audiences: ['vault'] })],
  ['expired', issue({ at: now() - 7200, expirationSeconds: 3600 })],
  ['not a token', 'hello'],
] as const) {
  const res = await fetch(receivers.offline, { headers: { authorization: `Bearer ${token}` } });
  console.log(`  ${label.padEnd(15)} ${res.status} ${res.headers.get('www-authenticate')}`);
}

deletedPods.add(POD.uid);
await round('after the pod was deleted (only TokenReview knows):');

tokenFile.close();
offline.close();
online.close();
for (const s of servers) s.close();
rmSync(volume, { recursive: true, force: true });
