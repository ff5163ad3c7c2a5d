import fs from 'node:fs';
import { openDatabase } from '.';
import { migrationsFingerprint } from './migrate';
import { templateFile } from './embedded-template';
import { setLogLevel } from '../shared/logger';

/**
 * `npm install` runs this (scripts/postinstall.cjs): a throwaway in-memory database, opened and
 * migrated as a first start would be, leaves the initdb and migrated templates behind.
 */
async function main(): Promise<void> {
  setLogLevel('warn');
  const t = Date.now();
  const file = templateFile({ kind: 'migrated', migrations: migrationsFingerprint() });
  if (fs.existsSync(file)) return;
  const db = await openDatabase({ db: { url: null, embeddedDir: 'memory://', pool: { min: 0, max: 1, acquireTimeoutMs: 60_000 } } });
  await db.close();
  process.stdout.write(`courtpay: embedded database templates ready in ${((Date.now() - t) / 1000).toFixed(1)} s (${file})\n`);
}

main().catch((e: Error) => {
  process.stdout.write(`courtpay: no embedded database templates (${e.message}); the first start will make them\n`);
});
