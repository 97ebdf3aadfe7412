/** `boundtoken kubeconfig` — mints a client-certificate kubeconfig signed by the data dir's CA. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { mintKubeconfig, pkiPaths } from '@boundtoken/server';
import { parse } from 'yaml';
import { CliError } from '../errors.js';

/** The server URL of the data dir's admin.kubeconfig (written at every server start). */
function serverFromAdminKubeconfig(dataDir: string): string | undefined {
  try {
    const cfg = parse(readFileSync(pkiPaths(dataDir).adminKubeconfig, 'utf8')) as { clusters?: { cluster?: { server?: string } }[] };
    return cfg.clusters?.[0]?.cluster?.server;
  } catch {
    return undefined;
  }
}

export function registerKubeconfig(program: Command): void {
  program
    .command('kubeconfig')
    .description('write a kubeconfig with a client certificate for a user (e.g. a node: system:node:<name> in system:nodes)')
    .requiredOption('--user <name>', 'user name (certificate CN)')
    .option('--group <group>', 'group (certificate O); repeatable', (v: string, p: string[] = []) => [...p, v])
    .requiredOption('--out <file>', 'where to write the kubeconfig (mode 0600)')
    .option('--data-dir <dir>', 'the server data dir holding the CA', '.boundtoken')
    .option('--server <url>', 'API server URL (default: the one in the data dir admin.kubeconfig)')
    .option('--days <n>', 'certificate validity in days', (v) => Number(v), 365)
    .addHelpText('after', '\nExample:\n  boundtoken kubeconfig --user system:node:n1 --group system:nodes --out n1.kubeconfig')
    .action(async (o: { user: string; group?: string[]; out: string; dataDir: string; server?: string; days: number }) => {
      const server = o.server ?? serverFromAdminKubeconfig(o.dataDir);
      if (!server) throw new CliError(`no --server given and no ${pkiPaths(o.dataDir).adminKubeconfig} to take it from (start the server first)`);
      if (!Number.isInteger(o.days) || o.days < 1) throw new CliError('--days must be a positive integer');
      try {
        await mintKubeconfig({ dataDir: o.dataDir, user: o.user, groups: o.group ?? [], server, out: o.out, days: o.days });
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      process.stdout.write(`wrote ${o.out} for user "${o.user}"${o.group?.length ? ` in ${o.group.map((g) => `"${g}"`).join(', ')}` : ''}\n`);
    });
}
