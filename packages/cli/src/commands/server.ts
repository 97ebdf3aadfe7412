/** `boundtoken server` — the token authority and API server, with kube-apiserver's flags. */
import type { Command } from 'commander';
import { OptionsError, resolveServerOptions, startServer } from '@boundtoken/server';
import { CliError } from '../errors.js';
import { untilSignal } from '../lifecycle.js';
import { createLogger } from '../logger.js';
import { addServerFlags, serverFlagsOf } from '../server-flags.js';

export function registerServer(program: Command): void {
  const cmd = program
    .command('server')
    .description('run the API server / token authority (kube-apiserver flags)')
    .addHelpText('after', '\nExample:\n  boundtoken server --data-dir /var/lib/boundtoken --secure-port 6443 \\\n    --service-account-issuer https://issuer.example.com --api-audiences https://issuer.example.com,vault');
  addServerFlags(cmd).action(async (o: Record<string, unknown>) => {
    let options;
    try {
      options = resolveServerOptions(serverFlagsOf(o));
    } catch (err) {
      if (err instanceof OptionsError) throw new CliError(err.message);
      throw err;
    }
    const log = createLogger(options.logLevel, 'boundtoken-server');
    let server;
    try {
      server = await startServer(options, { log });
    } catch (err) {
      if (err instanceof OptionsError) throw new CliError(err.message);
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EADDRINUSE') throw new CliError(`cannot listen on ${options.bindAddress}:${options.securePort}: address already in use`);
      throw err;
    }
    process.stdout.write(`boundtoken server ready at ${server.url}\nexport KUBECONFIG=${server.adminKubeconfig}\n`);
    process.exitCode = await untilSignal(() => server.close());
  });
}
