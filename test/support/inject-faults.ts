/**
 * Preloaded into a spawned service (`node --import tsx --import ./test/support/inject-faults.ts src/main.ts`)
 * to make the faults nothing in the service catches, on a line of stdin: `reject` leaves a rejected
 * promise unhandled, `throw` throws out of a timer callback.
 */
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  for (const line of chunk.split('\n').map((l) => l.trim())) {
    if (line === 'reject') void Promise.reject(new Error('injected: a rejection nobody handles'));
    if (line === 'throw') {
      setImmediate(() => {
        throw new Error('injected: an exception nobody catches');
      });
    }
  }
});
