/**
 * One in-process server per test file: memory store, a random loopback port, a throwaway data
 * directory, a silent log, and HTTPS clients for the identities the tests need.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { Store } from '@boundtoken/store';
import { resolveServerOptions, startServer, type ServerFlags, type ServerHandle } from '../../src/index.js';
import { issueCertificate } from '../../src/pki/certs.js';
import { Client } from './http.js';

export interface TestServerOptions {
  /** Extra server flags (the data dir, port, bind address and store are the helper's). */
  flags?: Omit<ServerFlags, 'dataDir' | 'securePort' | 'bindAddress' | 'storageBackend'>;
  /** `--token-auth-file` contents (CSV); written into the data dir. */
  tokenFile?: string;
  /** Files to write into the data dir before start (name → contents), e.g. key files for flags. */
  files?: Record<string, string>;
  /** A store to start on (to begin with existing state). */
  store?: Store;
}

export interface TestServer {
  handle: ServerHandle;
  url: string;
  dataDir: string;
  /** `admin` in `system:masters`, by client certificate. */
  admin: Client;
  /** No credentials at all. */
  anonymous: Client;
  /** A client that sends `Authorization: Bearer <token>`. */
  withToken(token: string): Client;
  /** A client certificate for `name` in `groups` (signed by the server's CA). */
  asUser(name: string, groups?: string[]): Promise<Client>;
  /** Creates a fresh namespace and waits for its `default` service account. */
  namespace(prefix?: string): Promise<string>;
  close(): Promise<void>;
}

let counter = 0;

/** Polls `predicate` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, predicate: () => T | Promise<T>, timeoutMs = 10_000): Promise<Exclude<T, undefined | null | false | '' | 0>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await predicate();
      if (v) return v as Exclude<T, undefined | null | false | '' | 0>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'boundtoken-server-test-'));
  const flags: ServerFlags = { ...(opts.flags ?? {}), dataDir, securePort: 0, bindAddress: '127.0.0.1', storageBackend: 'memory' };
  for (const [name, contents] of Object.entries(opts.files ?? {})) writeFileSync(join(dataDir, name), contents, { mode: 0o600 });
  if (opts.tokenFile !== undefined) {
    const path = join(dataDir, 'tokens.csv');
    writeFileSync(path, opts.tokenFile, { mode: 0o600 });
    flags.tokenAuthFile = path;
  }
  let handle: ServerHandle;
  try {
    handle = await startServer(resolveServerOptions(flags), {
      log: pino({ level: 'silent' }),
      signingWorkers: 1,
      ...(opts.store ? { store: opts.store } : {}),
    });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const ca = handle.pki.ca.certPem;
  const clients: Client[] = [];
  const track = (c: Client): Client => (clients.push(c), c);
  const admin = track(new Client(handle.url, { ca, cert: handle.pki.admin.certPem, key: handle.pki.admin.keyPem }));
  const anonymous = track(new Client(handle.url, { ca }));

  const server: TestServer = {
    handle,
    url: handle.url,
    dataDir,
    admin,
    anonymous,
    withToken: (token) => track(new Client(handle.url, { ca, token })),
    async asUser(name, groups = []) {
      const pair = await issueCertificate(handle.pki.ca, { commonName: name, organizations: groups, client: true });
      return track(new Client(handle.url, { ca, cert: pair.certPem, key: pair.keyPem }));
    },
    async namespace(prefix = 'ns') {
      const name = `${prefix}-${process.pid}-${++counter}`;
      const res = await admin.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
      if (res.status !== 201) throw new Error(`creating namespace ${name}: ${res.status} ${res.text}`);
      await waitFor(`the default service account in ${name}`, () => handle.registry.cache('serviceaccounts').get(name, 'default'));
      return name;
    },
    async close() {
      for (const c of clients) c.close();
      await handle.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}

/** A minimal pod (one container), optionally bound to a node. */
export function podManifest(name: string, extra: { nodeName?: string; serviceAccountName?: string; labels?: Record<string, string>; spec?: object; metadata?: object } = {}): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...(extra.labels ? { labels: extra.labels } : {}), ...(extra.metadata ?? {}) },
    spec: {
      containers: [{ name: 'app', image: 'registry.example/app:1.0' }],
      ...(extra.nodeName ? { nodeName: extra.nodeName } : {}),
      ...(extra.serviceAccountName ? { serviceAccountName: extra.serviceAccountName } : {}),
      ...(extra.spec ?? {}),
    },
  };
}

/** A node, Ready (with a fresh heartbeat) unless told otherwise. */
export function nodeManifest(name: string, extra: { ready?: boolean; labels?: Record<string, string>; taints?: object[]; unschedulable?: boolean } = {}): object {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, ...(extra.labels ? { labels: extra.labels } : {}) },
    spec: { ...(extra.taints ? { taints: extra.taints } : {}), ...(extra.unschedulable ? { unschedulable: true } : {}) },
    status: {
      conditions: [{ type: 'Ready', status: extra.ready === false ? 'False' : 'True', reason: 'KubeletReady', message: 'ready', lastHeartbeatTime: now, lastTransitionTime: now }],
      nodeInfo: { kubeletVersion: 'v1.32.0', osImage: 'Debian GNU/Linux 12 (bookworm)', kernelVersion: '6.1.0', containerRuntimeVersion: 'containerd://1.7.0', machineID: '', systemUUID: '', bootID: '', kubeProxyVersion: '', operatingSystem: 'linux', architecture: 'amd64' },
      addresses: [{ type: 'InternalIP', address: '10.0.0.1' }],
    },
  };
}

/** The user extra of a client certificate: `credential-id` `X509SHA256=` and the hex SHA-256 of its DER. */
export function certificateExtra(certPem: string): Record<string, string[]> {
  const hex = new X509Certificate(certPem).fingerprint256.replaceAll(':', '').toLowerCase();
  return { 'authentication.kubernetes.io/credential-id': [`X509SHA256=${hex}`] };
}

/** Decodes a JWT's payload (no verification). */
export function jwtPayload(token: string): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}

export function jwtHeader(token: string): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8'));
}
