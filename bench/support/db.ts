import pg from 'pg';

export const DEFAULT_BENCH_URL = 'postgres://postgres@127.0.0.1:5432/courtpay_bench';

export class NoDatabaseError extends Error {}

/**
 * The bench database, dropped and created afresh so every run starts from the same state.
 * Only a database whose name contains "bench" is ever dropped: DATABASE_URL may point elsewhere.
 */
export async function freshBenchDatabase(url = process.env.DATABASE_URL || DEFAULT_BENCH_URL): Promise<string> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!/bench/i.test(name)) {
    throw new NoDatabaseError(`refusing to drop database "${name}" from DATABASE_URL: the bench recreates its database, so its name must contain "bench"`);
  }
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (e) {
    throw new NoDatabaseError(
      `no Postgres reachable at ${redact(admin)} (${(e as Error).message}).\n` +
        'Start one, or set DATABASE_URL=postgres://user@host:port/courtpay_bench. The embedded PGlite is ' +
        'single-session (one connection, pool max 1), so it is not a meaningful benchmark target.',
    );
  }
  try {
    const quoted = client.escapeIdentifier(name);
    await client.query(`drop database if exists ${quoted} with (force)`);
    await client.query(`create database ${quoted}`);
  } finally {
    await client.end();
  }
  return url;
}

function redact(u: URL): string {
  const c = new URL(u);
  if (c.password) c.password = '***';
  return c.toString();
}

/** A fresh bench database, or null after saying why there is none (the bench then exits 1). */
export async function benchDatabaseOrNull(url?: string): Promise<string | null> {
  try {
    return await freshBenchDatabase(url);
  } catch (e) {
    if (!(e instanceof NoDatabaseError)) throw e;
    process.stderr.write(`${e.message}\n`);
    return null;
  }
}
