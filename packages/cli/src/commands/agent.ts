/**
 * `boundtoken agent` — the node agent: registers the node, watches the pods bound to it, and keeps
 * their projected service account token volumes written and fresh under `--root-dir`.
 *
 *   boundtoken agent --kubeconfig node.kubeconfig --node-name n1 --root-dir /var/lib/boundtoken
 *
 * Runs until SIGINT/SIGTERM, then stops syncing and reports the node NotReady (a second signal
 * exits at once).
 */
import { isIP } from 'node:net';
import os from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { Agent, createJsonLogger, type Logger, type LogLevel } from '@boundtoken/agent';
import { createInformer, createKubeClient, loadKubeconfig, type ClusterConnection } from '@boundtoken/client';
import { CliError } from '../errors.js';

export interface AgentFlags {
  kubeconfig?: string;
  context?: string;
  nodeName?: string;
  rootDir?: string;
  syncFrequency?: string;
  nodeStatusUpdateFrequency?: string;
  nodeIp?: string;
  tokenRefreshQps?: string;
  maxConcurrentSyncs?: string;
  logLevel?: string;
}

export interface AgentConfig {
  kubeconfig: string | undefined;
  context: string | undefined;
  nodeName: string;
  rootDir: string;
  syncFrequencyMs: number;
  nodeStatusUpdateFrequencyMs: number;
  nodeIP: string;
  tokenRefreshQps: number;
  maxConcurrentSyncs: number;
  logLevel: LogLevel;
}

export const DEFAULT_ROOT_DIR = '/var/lib/boundtoken';

export function registerAgent(program: Command): void {
  program
    .command('agent')
    .description('run the node agent: project service account tokens into pod volumes and keep them fresh')
    .option('--kubeconfig <file>', 'kubeconfig with the node credentials (default: $KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context (default: its current-context)')
    .option('--node-name <name>', 'name of this node (default: the host name)')
    .option('--root-dir <dir>', `directory for pod volumes: <dir>/pods/<uid>/volumes/… (default ${DEFAULT_ROOT_DIR})`)
    .option('--sync-frequency <duration>', 're-sync period of each pod, jittered up to +50 %', '60s')
    .option('--node-status-update-frequency <duration>', 'node status heartbeat', '10s')
    .option('--node-ip <ip>', "the node's InternalIP, reported as each pod's hostIP", '127.0.0.1')
    .option('--token-refresh-qps <n>', 'token refreshes started per second at most (urgent ones are never held back)', '50')
    .option('--max-concurrent-syncs <n>', 'pod syncs running at once', '32')
    .option('--log-level <level>', 'debug, info, warn, error or silent', 'info')
    .addHelpText(
      'after',
      '\nExample:\n  boundtoken agent --kubeconfig node-1.kubeconfig --node-name node-1 --root-dir /tmp/boundtoken',
    )
    .action(async (flags: AgentFlags) => {
      const config = parseAgentFlags(flags);
      const connection = loadConnection(config);
      process.exitCode = await runAgent(config, { signal: signalAbort(), connection });
    });
}

/** Validates the flags; every mistake is a CliError with one line naming the flag. */
export function parseAgentFlags(flags: AgentFlags): AgentConfig {
  const nodeName = (flags.nodeName ?? os.hostname()).toLowerCase();
  if (!isDnsSubdomain(nodeName)) {
    throw new CliError(`agent: --node-name "${nodeName}" must be a lowercase DNS subdomain (letters, digits, '-' and '.')`);
  }
  const logLevel = flags.logLevel ?? 'info';
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(logLevel)) {
    throw new CliError(`agent: --log-level must be debug, info, warn, error or silent, not "${logLevel}"`);
  }
  const nodeIP = flags.nodeIp ?? '127.0.0.1';
  if (isIP(nodeIP) === 0) throw new CliError(`agent: --node-ip "${nodeIP}" is not an IP address`);
  const syncFrequencyMs = parseDuration(flags.syncFrequency ?? '60s', '--sync-frequency');
  const nodeStatusUpdateFrequencyMs = parseDuration(flags.nodeStatusUpdateFrequency ?? '10s', '--node-status-update-frequency');
  if (syncFrequencyMs < 1000) throw new CliError('agent: --sync-frequency must be at least 1s');
  if (nodeStatusUpdateFrequencyMs < 1000) throw new CliError('agent: --node-status-update-frequency must be at least 1s');
  return {
    kubeconfig: flags.kubeconfig,
    context: flags.context,
    nodeName,
    rootDir: resolve(flags.rootDir ?? DEFAULT_ROOT_DIR),
    syncFrequencyMs,
    nodeStatusUpdateFrequencyMs,
    nodeIP,
    tokenRefreshQps: positiveNumber(flags.tokenRefreshQps ?? '50', '--token-refresh-qps'),
    maxConcurrentSyncs: positiveInteger(flags.maxConcurrentSyncs ?? '32', '--max-concurrent-syncs'),
    logLevel: logLevel as LogLevel,
  };
}

export interface RunAgentOptions {
  /** Stops the agent when aborted. */
  signal: AbortSignal;
  logger?: Logger;
  /** A connection to use instead of the kubeconfig (`boundtoken up`, tests). */
  connection?: ClusterConnection;
}

/** The connection of `--kubeconfig` / `--context`; a CliError when it cannot be loaded. */
export function loadConnection(config: AgentConfig): ClusterConnection {
  try {
    return loadKubeconfig(config.kubeconfig, config.context ? { context: config.context } : {});
  } catch (err) {
    throw new CliError(`agent: ${(err as Error).message}`);
  }
}

/** Runs the agent until `signal` aborts; returns the exit code. */
export async function runAgent(config: AgentConfig, options: RunAgentOptions): Promise<number> {
  const connection = options.connection ?? loadConnection(config);
  const logger = options.logger ?? createJsonLogger({ level: config.logLevel, base: { name: 'boundtoken-agent' } });
  const client = createKubeClient(connection, { userAgent: `boundtoken-agent/0.1.0 (node ${config.nodeName})` });
  const agent = new Agent({
    client,
    createInformer: (o) => createInformer(client, o),
    nodeName: config.nodeName,
    rootDir: config.rootDir,
    syncFrequencyMs: config.syncFrequencyMs,
    nodeStatusUpdateFrequencyMs: config.nodeStatusUpdateFrequencyMs,
    nodeIP: config.nodeIP,
    tokenRefreshQps: config.tokenRefreshQps,
    maxConcurrentSyncs: config.maxConcurrentSyncs,
    logger,
  });
  const stopped = new Promise<void>((done) => {
    if (options.signal.aborted) done();
    else options.signal.addEventListener('abort', () => done(), { once: true });
  });
  try {
    logger.info({ node: config.nodeName, server: connection.server, rootDir: config.rootDir }, 'starting the node agent');
    const starting = agent.start().then(
      () => undefined,
      (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
    );
    const first = await Promise.race([starting, stopped]);
    if (first instanceof Error) {
      logger.error({ err: first.message }, 'the node agent failed to start');
      return 1;
    }
    await stopped;
    return 0;
  } finally {
    await agent.stop();
    client.close();
  }
}

/** An AbortSignal fired by the first SIGINT or SIGTERM; a second one exits at once. */
function signalAbort(): AbortSignal {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`boundtoken: ${signal}, stopping the agent\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller.signal;
}

const DURATION = /^(?:(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$/;
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration (`60s`, `1m30s`, `500ms`, `1.5h`) in milliseconds. */
export function parseDuration(text: string, flag: string): number {
  if (!DURATION.test(text)) throw new CliError(`agent: ${flag} "${text}" is not a duration (like 60s, 1m30s or 500ms)`);
  let ms = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return Math.round(ms);
}

function positiveNumber(text: string, flag: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) throw new CliError(`agent: ${flag} must be a positive number, not "${text}"`);
  return n;
}

function positiveInteger(text: string, flag: string): number {
  const n = positiveNumber(text, flag);
  if (!Number.isInteger(n)) throw new CliError(`agent: ${flag} must be a positive integer, not "${text}"`);
  return n;
}

function isDnsSubdomain(name: string): boolean {
  return name.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name);
}

