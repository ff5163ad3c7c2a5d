import type { Knex } from 'knex';
import { ApiKeyAuthenticator, createApiKey } from '../../src/auth/api-key-store';
import type { Role } from '../../src/auth/principal';
import { loadConfig, type Config } from '../../src/config';
import { syncCourts } from '../../src/courts/courts';
import { openDatabase, type Database } from '../../src/db';
import { buildApp, type App } from '../../src/http/app';
import { stripeProcessor, type Processor } from '../../src/payments/processor';
import { setLogLevel } from '../../src/shared/logger';

/**
 * One database per test run: the Postgres at DATABASE_URL (its public schema dropped and
 * migrated afresh), or else an in-memory embedded PGlite. Tests build their own rows.
 */
export interface TestEnv {
  config: Readonly<Config>;
  db: Database;
  knex: Knex;
  app: App;
  authenticator: ApiKeyAuthenticator;
  processor: Processor;
  embedded: boolean;
}

let env: TestEnv | null = null;

/** Stripe in tests is api.stripe.com stubbed with nock; these are the key and endpoint secrets it uses. */
export const TEST_STRIPE = { secretKey: 'sk_test_courtpay', webhookSecret: 'whsec_test_current', oldWebhookSecret: 'whsec_test_previous' };

/**
 * Each test run gets its own schema in the DATABASE_URL database, so two runs at once (two
 * developers, or CI beside a developer) never drop each other's tables.
 */
const RUN_SCHEMA = `test_run_${process.pid}_${Date.now() % 1_000_000}`;

function runDatabaseUrl(): string | undefined {
  if (!process.env.DATABASE_URL) return undefined;
  const u = new URL(process.env.DATABASE_URL);
  u.searchParams.set('options', `-c search_path=${RUN_SCHEMA}`);
  // Every connection of the run says whose it is: a run schema no connection names is not in use.
  u.searchParams.set('application_name', RUN_SCHEMA);
  return u.toString();
}

export function testConfig(overrides: Record<string, unknown> = {}): Readonly<Config> {
  return loadConfig({
    env: {
      NODE_ENV: 'test',
      DATABASE_URL: runDatabaseUrl(),
      PORT: '0',
      PUBLIC_BASE_URL: 'https://pay.courts.example',
      STRIPE_SECRET_KEY: TEST_STRIPE.secretKey,
      STRIPE_WEBHOOK_SECRET: `${TEST_STRIPE.webhookSecret},${TEST_STRIPE.oldWebhookSecret}`,
    },
    overrides,
  });
}

/**
 * A run that crashed (killed, or its machine gone) never dropped its schema. One is abandoned when
 * no connection names it (application_name) and it was migrated over an hour ago: a run being set
 * up right now, or still running anywhere, is never touched.
 */
async function dropAbandonedRunSchemas(knex: Knex): Promise<void> {
  const { rows } = await knex.raw(
    `select n.nspname as name from pg_namespace n
      where n.nspname like 'test\\_run\\_%' and n.nspname <> ?
        and to_regclass(quote_ident(n.nspname) || '.knex_migrations') is not null
        and not exists (select 1 from pg_stat_activity a where a.application_name = n.nspname)`,
    [RUN_SCHEMA],
  );
  for (const { name } of rows as { name: string }[]) {
    const [{ last }] = (await knex.raw('select max(migration_time) as last from ??', [`${name}.knex_migrations`])).rows;
    if (last && Date.now() - new Date(last).getTime() > 3600_000) await knex.raw('drop schema if exists ?? cascade', [name]);
  }
}

export async function setupTestEnv(): Promise<TestEnv> {
  if (env) return env;
  setLogLevel(process.env.TEST_LOG_LEVEL ?? 'error');
  const config = testConfig(process.env.DATABASE_URL ? {} : { db: { embeddedDir: 'memory://' } });
  if (config.db.url) {
    const fresh = await openDatabase(config, { migrate: false });
    await fresh.knex.raw(`create schema ${RUN_SCHEMA}`);
    await dropAbandonedRunSchemas(fresh.knex);
    await fresh.close();
  }
  const db = await openDatabase(config);
  await syncCourts(db.knex, config.courts);
  const authenticator = new ApiKeyAuthenticator(db.knex, config.auth);
  const processor = stripeProcessor(config);
  const app = buildApp({ knex: db.knex, config, authenticator, processor });
  env = { config, db, knex: db.knex, app, authenticator, processor, embedded: !config.db.url };
  return env;
}

export function testEnv(): TestEnv {
  if (!env) throw new Error('test environment not set up (test/support/hooks.ts)');
  return env;
}

export async function teardownTestEnv(): Promise<void> {
  await env?.authenticator.close();
  if (env?.config.db.url) await env.knex.raw(`drop schema if exists ${RUN_SCHEMA} cascade`);
  await env?.db.close();
  env = null;
}

/** An API key for a role and court scope, made through the same code the CLI uses. */
export async function keyFor(role: Role, courts: string[] | 'all' = 'all'): Promise<string> {
  return (await createApiKey(testEnv().knex, testEnv().config.auth, { role, courts, name: `test ${role}` }, 'system:test')).key;
}
