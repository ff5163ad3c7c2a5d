import { ConfigError, loadConfig, type Config } from './config';
import { ensureDemoKeys } from './demo-keys';
import { ensureDemoStaff } from './staff/demo-staff';
import { handleProcessFaults } from './process-faults';
import { startService } from './service';
import { logger, setLogLevel } from './shared/logger';

async function main(): Promise<void> {
  let config: Readonly<Config>;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`courtpay cannot start: ${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  setLogLevel(config.log.level);
  const service = await startService(config);
  handleProcessFaults(() => service.stop());
  const base = `http://localhost:${service.port}`;
  const lines = [
    '',
    `courtpay is running at ${base}  (API docs: ${base}/docs)`,
    `database: ${service.db.embedded ? `embedded PGlite in ${config.db.embeddedDir}` : 'Postgres (DATABASE_URL)'}; processor: ${config.stripe.secretKey ? 'Stripe' : 'local sandbox'}`,
  ];
  if (service.db.embedded && config.env === 'development' && config.demo.seedKeys) {
    const keys = await ensureDemoKeys(service.db.knex, config.db.embeddedDir, config.auth);
    lines.push('demo API keys (all courts; development only):');
    for (const [role, key] of Object.entries(keys)) lines.push(`  ${role.padEnd(12)} ${key}`);
    lines.push(`try: curl -H "Authorization: Bearer ${keys.case_system}" ${base}/v1/courts`);
    const people = await ensureDemoStaff(service.db.knex, config);
    lines.push(`demo staff (all courts; development only), sign in at ${base}/console/login:`);
    for (const [role, p] of Object.entries(people)) lines.push(`  ${role.padEnd(12)} login ${p.login.padEnd(16)} password ${p.password}`);
  } else {
    lines.push('make an API key: npm run cli -- keys create --role case_system --courts all --name "my case system"');
  }
  process.stdout.write(`${lines.join('\n')}\n\n`);

  let signalled = false;
  const shutdown = (signal: string) => {
    // Under npm start a terminal's signal reaches the group and npm forwards it again: one shutdown,
    // bounded by the grace period, and never the default handler's immediate exit for the repeat.
    if (signalled) return void logger.info('signal received again; already shutting down', { signal });
    signalled = true;
    logger.info('signal received', { signal });
    service.stop().then(
      () => process.exit(0),
      (e: Error) => {
        logger.error('shutdown failed', { err: e.message });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((e: Error) => {
  logger.error('courtpay failed to start', { err: e.message, stack: e.stack });
  process.exit(1);
});
