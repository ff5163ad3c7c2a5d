import { pgBossRunner } from '../../src/jobs/pg-boss-runner';

/**
 * A service process's job runner, for tests that kill it: `node --import tsx job-child.ts <url> <schema> <job>`.
 * It registers <job> with a run that never ends, says `ready <instance>`, and `running <jobId>` once a run is taken.
 */
async function main(): Promise<void> {
  const [url, schema, name] = process.argv.slice(2);
  const runner = await pgBossRunner(url, { schema });
  await runner.register({
    name,
    cron: '0 0 1 1 *',
    expireInSeconds: 900,
    run: () => {
      process.stdout.write('running\n');
      return new Promise<void>(() => undefined);
    },
  });
  process.stdout.write(`ready ${runner.instance}\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
