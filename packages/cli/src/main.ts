/** `boundtoken` — parses the command line and runs one command; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  process.stdout.write(`boundtoken: ${argv.join(' ')}\n`);
  return 0;
}
