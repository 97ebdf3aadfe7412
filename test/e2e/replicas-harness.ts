/**
 * Several `boundtoken server` replicas (the compiled CLI, real processes) over a real etcd
 * cluster on loopback, for the replica and etcd end-to-end tests and the replica benchmark.
 *
 * Replicas share the PKI and the service account key the recommended way (docs/server.md,
 * "Running several replicas"): the first one bootstraps the data directory, the others start on
 * the same directory and reuse its files. Every replica rewrites `admin.kubeconfig` with its own
 * URL, so the harness writes one kubeconfig per replica (`replica-<i>.kubeconfig`) instead.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { startEtcdCluster, type EtcdCluster } from '@boundtoken/store/testing';
import { apiClient, cleanup, readKubeconfig, startServer, tempDir, waitFor, writeKubeconfig, type ApiClient, type TestServer } from './harness.ts';

export interface Replica {
  /** 0, 1, … in start order; `name` is `A`, `B`, … */
  index: number;
  name: string;
  server: TestServer;
  url: string;
  /** Admin (system:masters) kubeconfig for this replica alone. */
  kubeconfig: string;
  api: ApiClient;
  /** The identity it campaigns for the controllers' Lease with (from its log; needs `--log-level info`). */
  identity(): string | undefined;
  /** True while the process runs. */
  alive(): boolean;
  /** SIGKILL (default) or SIGTERM; resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface ReplicaSet {
  etcd: EtcdCluster;
  dataDir: string;
  replicas: Replica[];
  /** Server flags every replica got (etcd endpoints included). */
  args: string[];
  /** Starts one more replica on the same data dir and etcd. */
  addReplica(extraArgs?: string[]): Promise<Replica>;
  /** Stops every replica and the etcd cluster, and removes the data dir. */
  stop(): Promise<void>;
}

export interface ReplicaSetOptions {
  etcdMembers: 1 | 3;
  replicas: number;
  /** More flags for every replica. */
  extraArgs?: string[];
  /** Replica log level (default `info`: the leader election lines are how tests learn identities). */
  logLevel?: string;
}

const NAMES = 'ABCDEFGH';

/** A controller leadership line of a replica's (pino JSON) log. */
interface LogLine {
  msg?: string;
  identity?: string;
}

function logLines(stderr: string): LogLine[] {
  const out: LogLine[] = [];
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // a partial line
    }
  }
  return out;
}

export async function startReplicaSet(o: ReplicaSetOptions): Promise<ReplicaSet> {
  const etcd = await startEtcdCluster({ members: o.etcdMembers });
  const dataDir = tempDir('replicas');
  const args = ['--storage-backend', 'etcd', '--etcd-servers', etcd.endpoints.join(','), ...(o.extraArgs ?? [])];
  const replicas: Replica[] = [];
  const logLevel = o.logLevel ?? 'info';

  const addReplica = async (extraArgs: string[] = []): Promise<Replica> => {
    const index = replicas.length;
    // the harness' --log-level comes first: a later one wins
    const server = await startServer([...args, '--log-level', logLevel, ...extraArgs], { dataDir });
    const admin = readKubeconfig(join(dataDir, 'admin.kubeconfig'));
    const kubeconfig = writeKubeconfig(join(dataDir, `replica-${index}.kubeconfig`), { ...admin, server: server.url });
    let exited = false;
    void server.exited.then(() => (exited = true));
    const replica: Replica = {
      index,
      name: NAMES[index] ?? String(index),
      server,
      url: server.url,
      kubeconfig,
      api: apiClient(kubeconfig, { maxSockets: 32 }),
      identity() {
        // "became leader" or "lost leadership" carry our own identity; "led by another" the other's
        const own = logLines(server.stderr()).find((l) => l.msg === 'became leader' || l.msg === 'lost leadership');
        return own?.identity;
      },
      alive: () => !exited,
      async kill(signal: NodeJS.Signals = 'SIGKILL') {
        replica.api.close();
        await server.stop(signal);
      },
    };
    replicas.push(replica);
    return replica;
  };

  try {
    // one at a time: the first bootstraps the PKI the others reuse
    for (let i = 0; i < o.replicas; i++) await addReplica();
  } catch (err) {
    for (const r of replicas) await r.kill().catch(() => undefined);
    await etcd.stop();
    cleanup(dataDir);
    throw err;
  }
  return {
    etcd,
    dataDir,
    replicas,
    args,
    addReplica,
    async stop() {
      for (const r of replicas) await r.kill('SIGTERM').catch(() => undefined);
      await etcd.stop();
      cleanup(dataDir);
    },
  };
}

/** The identity holding the controllers' Lease, read through `api` (undefined when none). */
export async function leaseHolder(api: ApiClient): Promise<string | undefined> {
  const r = await api.request('/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/boundtoken-controller-manager');
  if (r.status !== 200) return undefined;
  return r.json<{ spec?: { holderIdentity?: string } }>().spec?.holderIdentity || undefined;
}

/** Waits until some replica of `set` leads the controllers and every live replica knows its identity. */
export async function waitForLeader(set: ReplicaSet, timeoutMs = 30_000): Promise<Replica> {
  return waitFor(
    'a replica to lead the controllers',
    async () => {
      const live = set.replicas.filter((r) => r.alive());
      const holder = await leaseHolder(live[0]!.api);
      return holder ? live.find((r) => r.identity() === holder) : undefined;
    },
    timeoutMs,
    100,
  );
}

export interface LoadBalancer {
  url: string;
  port: number;
  /** Connections made so far to each backend (by index). */
  connections: number[];
  close(): Promise<void>;
}

/**
 * A loopback TCP load balancer in front of the replicas (TLS passes through: the replicas share
 * one serving certificate). Each new connection goes to the first backend that accepts it, in
 * order — so clients stick to the first replica while it lives and fail over when it dies.
 */
export async function startLoadBalancer(backends: { url: string }[]): Promise<LoadBalancer> {
  const targets = backends.map((b) => {
    const u = new URL(b.url);
    return { host: u.hostname, port: Number(u.port) };
  });
  const connections = targets.map(() => 0);
  const sockets = new Set<Socket>();
  const track = (s: Socket): void => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  const server: Server = createServer((client) => {
    track(client);
    client.pause();
    const attempt = (i: number): void => {
      if (i >= targets.length) {
        client.destroy();
        return;
      }
      const upstream = createConnection(targets[i]!);
      track(upstream);
      let connected = false;
      upstream.on('error', () => {
        if (connected) client.destroy();
        else attempt(i + 1);
      });
      upstream.once('connect', () => {
        connected = true;
        connections[i]!++;
        client.on('error', () => upstream.destroy());
        upstream.once('close', () => client.destroy());
        client.once('close', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    attempt(0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    connections,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
