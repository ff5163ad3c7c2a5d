import { parseArgs } from 'node:util';

export interface LoadArgs {
  /** Seconds per measured run. */
  duration: number;
  connections: number;
  /** Seconds of unmeasured load before each measured run. */
  warmup: number;
  /** autocannon worker threads; 0 runs the load generator on the service's own event loop. */
  workers: number;
}

/** The flags every HTTP bench takes. Unknown flags are an error, so a typo never goes unnoticed. */
export function parseLoadArgs(args: string[]): LoadArgs {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '50' },
      warmup: { type: 'string', default: '2' },
      workers: { type: 'string', default: '1' },
    },
  });
  const num = (flag: keyof typeof values, min: number): number => {
    const n = Number(values[flag]);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${flag} must be an integer ≥ ${min}, got "${values[flag]}"`);
    return n;
  };
  return { duration: num('duration', 1), connections: num('connections', 1), warmup: num('warmup', 0), workers: num('workers', 0) };
}
