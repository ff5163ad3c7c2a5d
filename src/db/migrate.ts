import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';

/** Migrations live in db/migrations as TypeScript (or compiled .js in the image); loaded explicitly so tsx and node both work. */
const MIGRATIONS_DIR = path.resolve(__dirname, '../../db/migrations');

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

function migrationFiles(): string[] {
  return fs.readdirSync(MIGRATIONS_DIR).filter((f) => /^\d{14}_[\w-]+\.(ts|js)$/.test(f) && !f.endsWith('.d.ts')).sort();
}

/** The migrations as they are on disk (names and contents): a database migrated by one set is reused only for that set. */
export function migrationsFingerprint(): string {
  const hash = createHash('sha256');
  for (const f of migrationFiles()) hash.update(f).update('\0').update(fs.readFileSync(path.join(MIGRATIONS_DIR, f))).update('\0');
  return hash.digest('hex').slice(0, 16);
}

class DirectorySource implements Knex.MigrationSource<string> {
  async getMigrations(): Promise<string[]> {
    return migrationFiles().map((f) => f.replace(/\.(ts|js)$/, ''));
  }
  getMigrationName(name: string): string {
    return name;
  }
  async getMigration(name: string): Promise<Migration> {
    // require, not import(): a native import() in the compiled build would not resolve the extensionless name.
    return require(path.join(MIGRATIONS_DIR, name)) as Migration;
  }
}

const source = new DirectorySource();

export async function migrateToLatest(knex: Knex): Promise<void> {
  // A restart finds nothing to do: one look at knex_migrations, without taking the migration lock.
  if (await migrationsCurrent(knex)) return;
  await knex.migrate.latest({ migrationSource: source });
}

export async function migrationsCurrent(knex: Knex): Promise<boolean> {
  const [, pending] = (await knex.migrate.list({ migrationSource: source })) as [unknown[], unknown[]];
  return pending.length === 0;
}

export async function rollbackAll(knex: Knex): Promise<void> {
  await knex.migrate.rollback({ migrationSource: source }, true);
}
