import { expect } from 'chai';
import type { Knex } from 'knex';
import { loadConfig } from '../../src/config';
import { openDatabase, type Database } from '../../src/db';
import { migrateToLatest, migrationsCurrent, rollbackAll } from '../../src/db/migrate';

/**
 * Every migration's `down` runs: all of them applied, rolled back to nothing and applied again,
 * on a database no other test uses. After the rollback the schema holds nothing but knex's own
 * bookkeeping; after the second `latest` it is what the first one made, to the column and trigger.
 */

/** Everything the migrations make in the current schema, as comparable lines (knex's own two tables left out). */
async function schemaContents(knex: Knex): Promise<string[]> {
  const { rows } = (await knex.raw(`
    select 'relation ' || c.relname || ' ' || c.relkind::text as item from pg_class c
      where c.relnamespace = current_schema()::regnamespace and c.relname not like 'knex\\_migrations%'
    union all
    select 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')
      from information_schema.columns where table_schema = current_schema() and table_name not like 'knex\\_migrations%'
    union all
    select 'constraint ' || t.relname || '.' || k.conname || ' ' || pg_get_constraintdef(k.oid) from pg_constraint k
      join pg_class t on t.oid = k.conrelid where t.relnamespace = current_schema()::regnamespace and t.relname not like 'knex\\_migrations%'
    union all
    select 'trigger ' || t.relname || '.' || g.tgname from pg_trigger g join pg_class t on t.oid = g.tgrelid
      where not g.tgisinternal and t.relnamespace = current_schema()::regnamespace
    union all
    select 'function ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' from pg_proc p
      where p.pronamespace = current_schema()::regnamespace
    union all
    select 'type ' || y.typname from pg_type y
      where y.typnamespace = current_schema()::regnamespace and y.typtype in ('e', 'd')
    order by 1`)) as { rows: { item: string }[] };
  return rows.map((r) => r.item);
}

async function upDownUp(knex: Knex): Promise<void> {
  await migrateToLatest(knex);
  expect(await migrationsCurrent(knex)).to.equal(true);
  const first = await schemaContents(knex);
  expect(first.some((i) => i.startsWith('relation invoices ')), 'the migrations made the tables').to.equal(true);

  await rollbackAll(knex);
  expect(await schemaContents(knex), 'left after rolling every migration back').to.deep.equal([]);
  expect(await knex('knex_migrations').select('name'), 'migrations still recorded as applied').to.deep.equal([]);

  await migrateToLatest(knex);
  expect(await schemaContents(knex), 'the schema made again').to.deep.equal(first);
}

describe('migrations: up, down and up again', function () {
  this.timeout(180_000);

  it('when every migration is applied, rolled back and applied again on a scratch schema of the Postgres at DATABASE_URL, then the rollback leaves nothing and the schema comes back the same', async function () {
    if (!process.env.DATABASE_URL) this.skip(); // no Postgres in this pass: the embedded database's test below runs instead
    // Named like a run's schema, so a run that crashed here leaves nothing a later run does not drop (test/support/env.ts).
    const schema = `test_run_migrations_${process.pid}_${Date.now() % 1_000_000}`;
    const url = new URL(process.env.DATABASE_URL!);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const db = await openDatabase(loadConfig({ env: { NODE_ENV: 'test', DATABASE_URL: url.toString(), PORT: '0' } }), { migrate: false });
    try {
      await db.knex.raw('create schema ??', [schema]);
      await upDownUp(db.knex);
    } finally {
      await db.knex.raw('drop schema if exists ?? cascade', [schema]);
      await db.close();
    }
  });

  it('when every migration is applied, rolled back and applied again on a fresh embedded database, then the rollback leaves nothing and the schema comes back the same', async function () {
    // Some seconds on PGlite (4 to 11 here): run in the embedded pass (no DATABASE_URL) only; the Postgres pass has its scratch schema above.
    if (process.env.DATABASE_URL) this.skip();
    let db: Database | null = null;
    try {
      db = await openDatabase(loadConfig({ env: { NODE_ENV: 'test', PORT: '0' }, overrides: { db: { embeddedDir: 'memory://' } } }), { migrate: false });
      await upDownUp(db.knex);
    } finally {
      await db?.close();
    }
  });
});
