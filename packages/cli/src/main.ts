/**
 * `boundtoken` — parses the command line, runs one command and returns the exit code.
 * Each command lives in `commands/<name>.ts` and registers itself on the program; errors are
 * printed as one line (`boundtoken: <message>`) with a non-zero exit code.
 */
import { Command, CommanderError } from 'commander';
import { registerAgent } from './commands/agent.js';
import { registerDecode } from './commands/decode.js';
import { registerKeys } from './commands/keys.js';
import { registerKubeconfig } from './commands/kubeconfig.js';
import { registerServer } from './commands/server.js';
import { registerUp } from './commands/up.js';
import { CliError } from './errors.js';

export const VERSION = '0.1.0';

export function buildProgram(): Command {
  const program = new Command('boundtoken')
    .description('Kubernetes bound service account tokens: the authority, the node agent, and tools')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerUp(program);
  registerServer(program);
  registerAgent(program);
  registerDecode(program);
  registerKeys(program);
  registerKubeconfig(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.configureOutput({
    writeErr: (s) => process.stderr.write(s),
    writeOut: (s) => process.stdout.write(s),
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message (or the help / version text)
      return err.exitCode;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`boundtoken: ${message}\n`);
    return err instanceof CliError ? err.exitCode : 1;
  }
}
