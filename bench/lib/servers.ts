/**
 * The processes the server benchmarks measure, each in a child process of its own so that it has
 * its own event loop and the load generator (the benchmark process) its own core:
 *
 * - `startCliServer` — the compiled `boundtoken server` CLI, as users run it (plain node, no tsx),
 *   on a free loopback port with a throwaway data dir;
 * - `startEmptyHttps` — the baseline: an empty endpoint on a plain `node:https` server with the
 *   same TLS setup (`empty-https-server.ts`).
 *
 * Plus `mintIdentity` (a client certificate signed by the data dir's CA) and `apiCall`, a tiny
 * HTTPS JSON client for setting up objects before a measurement.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mintKubeconfig, pkiPaths } from '@boundtoken/server';
import { startServer } from '../../test/e2e/harness.ts';

/** A client identity for HTTPS: the CA to trust, and a client certificate (or none). */
export interface Identity {
  name: string;
  ca: string;
  cert?: string;
  key?: string;
}

export interface CliServer {
  url: string;
  pid: number;
  dataDir: string;
  args: string[];
  /** The serving TLS material and the client CA (for a baseline with the same TLS setup). */
  tls: { cert: string; key: string; clientCa: string };
  admin: Identity;
  stop(): Promise<void>;
}

/**
 * Starts `boundtoken server` (compiled) on 127.0.0.1 and a free port, with the e2e harness;
 * resolves when it is ready. `cli` runs another build (another checkout's
 * `packages/cli/bin/boundtoken.js`), to compare two; BENCH_SERVER_NODE_OPTIONS (`--cpu-prof …`)
 * go to its node.
 */
export async function startCliServer(extraArgs: string[] = [], opts: { cli?: string; nodeOptions?: string[] } = {}): Promise<CliServer> {
  const nodeOptions = opts.nodeOptions ?? process.env.BENCH_SERVER_NODE_OPTIONS?.split(' ').filter(Boolean) ?? [];
  const server = await startServer(extraArgs, { ...(opts.cli ? { cli: opts.cli } : {}), nodeOptions });
  const p = pkiPaths(server.dataDir);
  const ca = readFileSync(p.caCert, 'utf8');
  return {
    url: server.url,
    pid: server.proc.pid!,
    dataDir: server.dataDir,
    args: server.args,
    tls: { cert: readFileSync(p.servingCert, 'utf8'), key: readFileSync(p.servingKey, 'utf8'), clientCa: ca },
    admin: { name: 'admin (system:masters)', ca, cert: readFileSync(p.adminCert, 'utf8'), key: readFileSync(p.adminKey, 'utf8') },
    stop: () => server.dispose(),
  };
}

export interface EmptyHttps {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts the baseline empty HTTPS endpoint with the given serving TLS and client CA; paths under
 * `/payload` answer `payload` instead of the small JSON object.
 */
export async function startEmptyHttps(tls: { cert: string; key: string; clientCa: string }, payload?: string): Promise<EmptyHttps> {
  const child = fork(fileURLToPath(new URL('./empty-https-server.ts', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`the empty HTTPS server exited with ${code}`)));
    child.send({ ...tls, ...(payload !== undefined ? { payload } : {}) });
  });
  return {
    url: `https://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      child.kill();
      await exited;
    },
  };
}

/** A client certificate for `user` in `groups`, signed by the server's CA. */
export async function mintIdentity(server: CliServer, user: string, groups: string[] = []): Promise<Identity> {
  const out = join(server.dataDir, `bench-${user.replace(/[^a-z0-9-]/gi, '_')}.kubeconfig`);
  await mintKubeconfig({ dataDir: server.dataDir, user, groups, server: server.url, out });
  const text = readFileSync(out, 'utf8');
  const field = (name: string): string => {
    const m = new RegExp(`${name}: (\\S+)`).exec(text);
    if (!m) throw new Error(`no ${name} in the minted kubeconfig`);
    return Buffer.from(m[1]!, 'base64').toString('utf8');
  };
  return { name: `${user}${groups.length ? ` (${groups.join(', ')})` : ''}`, ca: server.admin.ca, cert: field('client-certificate-data'), key: field('client-key-data') };
}

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
}

/** One HTTPS JSON request (setup work, not measured). Throws on a status ≥ 400 unless `allow` lists it. */
export function apiCall<T = unknown>(
  baseUrl: string,
  id: Identity,
  method: string,
  path: string,
  body?: unknown,
  opts: { contentType?: string; allow?: number[] } = {},
): Promise<ApiResponse<T>> {
  const url = new URL(path, baseUrl);
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method,
        ca: id.ca,
        ...(id.cert ? { cert: id.cert, key: id.key } : {}),
        headers: {
          Accept: 'application/json',
          ...(payload !== undefined ? { 'Content-Type': opts.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {}),
        },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status >= 400 && !(opts.allow ?? []).includes(status)) {
            reject(new Error(`${method} ${path}: ${status} ${text.slice(0, 500)}`));
            return;
          }
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          resolve({ status, body: parsed as T });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
