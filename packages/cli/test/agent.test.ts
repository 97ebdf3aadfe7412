import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { silentLogger } from '@boundtoken/agent';
import { parseAgentFlags, parseDuration, runAgent, type AgentFlags } from '../src/commands/agent.js';
import { CliError } from '../src/errors.js';
import { main } from '../src/main.js';

const dir = mkdtempSync(join(tmpdir(), 'bt-cli-agent-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const stderr = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string | Uint8Array) => ((err += String(s)), true)) as typeof process.stderr.write;
  try {
    return { code: await main(args), err };
  } finally {
    process.stderr.write = stderr;
  }
}

describe('boundtoken agent flags', () => {
  test('defaults', () => {
    const c = parseAgentFlags({ nodeName: 'node-1', rootDir: 'rel/dir' });
    assert.equal(c.nodeName, 'node-1');
    assert.equal(c.rootDir, join(process.cwd(), 'rel/dir'));
    assert.equal(c.syncFrequencyMs, 60_000);
    assert.equal(c.nodeStatusUpdateFrequencyMs, 10_000);
    assert.equal(c.nodeIP, '127.0.0.1');
    assert.equal(c.tokenRefreshQps, 50);
    assert.equal(c.maxConcurrentSyncs, 32);
    assert.equal(c.logLevel, 'info');
    assert.equal(parseAgentFlags({}).rootDir, '/var/lib/boundtoken');
  });

  test('node names are lowercased host names by default', () => {
    assert.equal(parseAgentFlags({ nodeName: 'Node-A' }).nodeName, 'node-a');
  });

  const bad: [string, AgentFlags, RegExp][] = [
    ['node name', { nodeName: 'no_underscores' }, /--node-name "no_underscores" must be a lowercase DNS subdomain/],
    ['duration', { syncFrequency: 'soon' }, /--sync-frequency "soon" is not a duration/],
    ['duration without unit', { syncFrequency: '60' }, /--sync-frequency "60" is not a duration/],
    ['too short a period', { syncFrequency: '10ms' }, /--sync-frequency must be at least 1s/],
    ['status frequency', { nodeStatusUpdateFrequency: '-1s' }, /--node-status-update-frequency "-1s" is not a duration/],
    ['qps', { tokenRefreshQps: '0' }, /--token-refresh-qps must be a positive number, not "0"/],
    ['qps text', { tokenRefreshQps: 'many' }, /--token-refresh-qps must be a positive number/],
    ['concurrency', { maxConcurrentSyncs: '1.5' }, /--max-concurrent-syncs must be a positive integer/],
    ['log level', { logLevel: 'loud' }, /--log-level must be debug, info, warn, error or silent/],
    ['node ip', { nodeIp: '300.1.1.1' }, /--node-ip "300.1.1.1" is not an IP address/],
  ];
  for (const [name, flags, message] of bad) {
    test(`rejects a bad ${name}`, () => {
      assert.throws(() => parseAgentFlags({ nodeName: 'n1', ...flags }), (err: Error) => {
        assert.ok(err instanceof CliError);
        assert.match(err.message, message);
        assert.equal(err.message.includes('\n'), false);
        return true;
      });
    });
  }

  const durations: [string, number][] = [
    ['60s', 60_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['1.5h', 5_400_000],
    ['2m', 120_000],
  ];
  for (const [text, ms] of durations) {
    test(`duration ${text}`, () => assert.equal(parseDuration(text, '--x'), ms));
  }

  test('a bad flag is one error line and exit code 1', async () => {
    const { code, err } = await run(['agent', '--node-name', 'n1', '--sync-frequency', 'soon']);
    assert.equal(code, 1);
    assert.equal(err, 'boundtoken: agent: --sync-frequency "soon" is not a duration (like 60s, 1m30s or 500ms)\n');
  });

  test('an unreadable kubeconfig is one error line', async () => {
    const { code, err } = await run(['agent', '--node-name', 'n1', '--kubeconfig', join(dir, 'missing.yaml')]);
    assert.equal(code, 1);
    assert.match(err, /^boundtoken: agent: cannot read kubeconfig .*missing\.yaml/);
    assert.equal(err.trim().split('\n').length, 1);
  });

  test('a kubeconfig without a current context is one error line', async () => {
    const file = join(dir, 'empty.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: Config\nclusters: []\n');
    const { code, err } = await run(['agent', '--node-name', 'n1', '--kubeconfig', file]);
    assert.equal(code, 1);
    assert.match(err, /^boundtoken: agent: kubeconfig .* no context given/);
  });
});

describe('boundtoken agent run', () => {
  test('stops cleanly when signalled while the API server is unreachable', async () => {
    // a port that refuses connections
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r()));

    const config = parseAgentFlags({ nodeName: 'n1', rootDir: join(dir, 'root') });
    const controller = new AbortController();
    const running = runAgent(config, { signal: controller.signal, logger: silentLogger, connection: { server: `http://127.0.0.1:${port}` } });
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    controller.abort();
    assert.equal(await running, 0);
    assert.ok(Date.now() - t0 < 2000, 'stops promptly');
  });
});
