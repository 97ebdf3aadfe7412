/**
 * `boundtoken up` — the whole system in one process: the API server on the embedded store and a
 * node agent registered with it, sharing one data directory. `--demo` applies the manifests in
 * `examples/manifests/` (idempotently, with server-side apply) and prints the projected token.
 *
 *   boundtoken up --demo
 *   export KUBECONFIG=.boundtoken/admin.kubeconfig
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { KubeObject, Pod } from '@boundtoken/api';
import { createKubeClient, loadKubeconfig, type KubeClient } from '@boundtoken/client';
import { mintKubeconfig, OptionsError, resolveServerOptions, startServer, type ServerHandle } from '@boundtoken/server';
import { decodeToken } from '@boundtoken/token';
import { parseAllDocuments } from 'yaml';
import { CliError } from '../errors.js';
import { createLogger } from '../logger.js';
import { addServerFlags, serverFlagsOf } from '../server-flags.js';
import { parseAgentFlags, runAgent } from './agent.js';
import { formatDecoded } from './decode.js';

/** The repository's examples/manifests, next to the CLI package. */
export const DEMO_MANIFESTS = fileURLToPath(new URL('../../../../examples/manifests/', import.meta.url));

/** A host name made into a node name (a lowercase DNS subdomain). */
export function defaultNodeName(host = os.hostname()): string {
  const name = host
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 253);
  return name || 'boundtoken-node';
}

interface UpFlags extends Record<string, unknown> {
  nodeName?: string;
  demo?: boolean;
  demoDir?: string;
  syncFrequency?: string;
}

function apiPath(server: ServerHandle, obj: KubeObject): string {
  const apiVersion = obj.apiVersion ?? '';
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const def = server.registry.defByKind(group, obj.kind ?? '');
  if (!def) throw new CliError(`demo: ${apiVersion} ${obj.kind} is not served by boundtoken`);
  const name = obj.metadata?.name;
  if (!name) throw new CliError(`demo: a ${obj.kind} without metadata.name`);
  const base = group ? `/apis/${group}/${def.version}` : `/api/${def.version}`;
  const ns = def.namespaced ? `/namespaces/${obj.metadata?.namespace ?? 'default'}` : '';
  return `${base}${ns}/${def.resource}/${encodeURIComponent(name)}`;
}

/** Reads every YAML document of the demo directory, in file order. */
export function readManifests(dir: string): KubeObject[] {
  if (!existsSync(dir)) throw new CliError(`demo: no manifests directory at ${dir}`);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort();
  const out: KubeObject[] = [];
  for (const f of files) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
      if (doc.errors.length > 0) throw new CliError(`demo: ${f}: ${doc.errors[0]!.message}`);
      const obj = doc.toJS() as KubeObject | null;
      if (obj && typeof obj === 'object') out.push(obj);
    }
  }
  return out;
}

async function applyDemo(server: ServerHandle, admin: KubeClient, objects: KubeObject[]): Promise<void> {
  for (const obj of objects) {
    await admin.patch(apiPath(server, obj), obj, 'apply', { query: { fieldManager: 'boundtoken-demo', force: 'true' } });
  }
}

/** Where the agent writes each projected token of a pod. */
function tokenFiles(pod: Pod, rootDir: string): string[] {
  const files: string[] = [];
  for (const v of pod.spec?.volumes ?? []) {
    for (const s of v.projected?.sources ?? []) {
      if (s.serviceAccountToken?.path) {
        files.push(join(rootDir, 'pods', pod.metadata!.uid!, 'volumes', 'kubernetes.io~projected', v.name, s.serviceAccountToken.path));
      }
    }
  }
  return files;
}

async function showDemoTokens(admin: KubeClient, server: ServerHandle, objects: KubeObject[], rootDir: string, signal: AbortSignal): Promise<void> {
  const pods = objects.filter((o) => o.kind === 'Pod');
  for (const manifest of pods) {
    const deadline = Date.now() + 60_000;
    let files: string[] = [];
    let pod: Pod | undefined;
    while (!signal.aborted && Date.now() < deadline) {
      pod = await admin.get<Pod>(apiPath(server, manifest));
      files = tokenFiles(pod, rootDir).filter((f) => !/kube-api-access-/.test(f));
      if (files.length > 0 && files.every((f) => existsSync(f))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (signal.aborted) return;
    if (!pod || files.length === 0 || !files.every((f) => existsSync(f))) {
      throw new CliError(`demo: the token of pod ${manifest.metadata?.namespace}/${manifest.metadata?.name} did not appear within 60 s`);
    }
    for (const f of files) {
      const token = readFileSync(f, 'utf8').trim();
      process.stdout.write(`\ndemo: pod ${pod.metadata!.namespace}/${pod.metadata!.name} (uid ${pod.metadata!.uid}) on node ${pod.spec?.nodeName}\n`);
      process.stdout.write(`token file: ${f}\n`);
      process.stdout.write(`${formatDecoded(decodeToken(token), Math.floor(Date.now() / 1000))}\n`);
    }
  }
}

export function registerUp(program: Command): void {
  const cmd = program
    .command('up')
    .description('run the API server and a node agent in one process (the local cluster)')
    .option('--node-name <name>', 'name of the node the agent registers (default: the host name)')
    .option('--sync-frequency <duration>', "re-sync period of each pod's volumes", '60s')
    .option('--demo', 'apply examples/manifests and print the projected istio-token')
    .option('--demo-dir <dir>', 'manifests --demo applies', DEMO_MANIFESTS)
    .addHelpText('after', '\nExample:\n  boundtoken up --demo\n  export KUBECONFIG=.boundtoken/admin.kubeconfig\n  kubectl get pods -A');
  addServerFlags(cmd, { bindAddress: '127.0.0.1' }).action(async (o: UpFlags) => {
    let options;
    try {
      options = resolveServerOptions({ ...serverFlagsOf(o), storageBackend: (o.storageBackend as string | undefined) ?? 'sqlite' });
    } catch (err) {
      if (err instanceof OptionsError) throw new CliError(err.message);
      throw err;
    }
    const agentConfig = parseAgentFlags({
      nodeName: o.nodeName ?? defaultNodeName(),
      rootDir: join(resolve(options.dataDir), 'agent'),
      syncFrequency: o.syncFrequency ?? '60s',
      logLevel: options.logLevel === 'trace' || options.logLevel === 'fatal' ? 'debug' : options.logLevel,
    });
    const objects = o.demo ? readManifests(resolve(o.demoDir ?? DEMO_MANIFESTS)) : [];
    const log = createLogger(options.logLevel, 'boundtoken');

    let server: ServerHandle;
    try {
      server = await startServer(options, { log });
    } catch (err) {
      if (err instanceof OptionsError) throw new CliError(err.message);
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new CliError(`cannot listen on ${options.bindAddress}:${options.securePort}: address already in use (try --secure-port)`);
      }
      throw err;
    }
    const nodeKubeconfig = join(agentConfig.rootDir, 'node.kubeconfig');
    await mintKubeconfig({ dataDir: options.dataDir, user: `system:node:${agentConfig.nodeName}`, groups: ['system:nodes'], server: server.url, out: nodeKubeconfig });

    const stop = new AbortController();
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stop.signal.aborted) process.exit(130);
      process.stderr.write(`boundtoken: ${signal}, shutting down\n`);
      stop.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    const agentDone = runAgent(agentConfig, { signal: stop.signal, connection: loadKubeconfig(nodeKubeconfig) });
    process.stdout.write(
      `boundtoken is up: API server ${server.url}, node ${agentConfig.nodeName}, data in ${resolve(options.dataDir)}\n` +
        `export KUBECONFIG=${server.adminKubeconfig}\n`,
    );
    let code = 0;
    if (objects.length > 0) {
      const admin = createKubeClient(loadKubeconfig(server.adminKubeconfig));
      try {
        await applyDemo(server, admin, objects);
        await showDemoTokens(admin, server, objects, agentConfig.rootDir, stop.signal);
        if (!stop.signal.aborted) process.stdout.write('\n(Ctrl-C to stop)\n');
      } catch (err) {
        process.stderr.write(`boundtoken: ${(err as Error).message}\n`);
        code = 1;
        stop.abort();
      } finally {
        admin.close();
      }
    }
    const agentCode = await agentDone;
    await server.close();
    process.exitCode = code || agentCode;
  });
}
