/** Runs until SIGINT/SIGTERM, then shuts down once (a second signal exits at once). */
export function untilSignal(shutdown: () => Promise<void>): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) process.exit(130);
      stopping = true;
      process.stderr.write(`boundtoken: ${signal}, shutting down\n`);
      shutdown().then(
        () => resolve(0),
        (err: unknown) => {
          process.stderr.write(`boundtoken: shutdown failed: ${(err as Error).message}\n`);
          resolve(1);
        },
      );
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}
