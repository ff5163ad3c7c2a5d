import { logger } from './shared/logger';

/** How long a stop forced by an uncaught exception may take before the process exits anyway. */
const STOP_DEADLINE_MS = 30_000;

/**
 * What the process does with an error nothing caught. A rejected promise nobody awaited is one
 * task's failure (a job, a write-behind, a stray callback), not a broken process: it is logged and
 * the service keeps serving. An exception thrown out of a callback leaves the process in a state
 * Node does not vouch for: it is logged, the service stops as on SIGTERM (requests in flight
 * answered, pools closed) and the process exits 1 — at the deadline if stopping hangs.
 */
export function handleProcessFaults(stop: () => Promise<void>): void {
  const exit = (code: number) => process.exit(code);
  process.on('unhandledRejection', (reason) => {
    const err = reason instanceof Error ? reason : new Error(String(reason));
    logger.error('unhandled rejection; the service keeps running', { err: err.message, stack: err.stack });
  });
  let fatal = false;
  process.on('uncaughtException', (err) => {
    logger.error('uncaught exception; stopping the service', { err: err.message, stack: err.stack });
    if (fatal) return; // a second one while stopping: the first stop is already on its way out
    fatal = true;
    setTimeout(() => {
      logger.error('stopping took too long after an uncaught exception; exiting now');
      exit(1);
    }, STOP_DEADLINE_MS).unref();
    stop().then(
      () => exit(1),
      (e: Error) => {
        logger.error('shutdown failed', { err: e.message });
        exit(1);
      },
    );
  });
}
