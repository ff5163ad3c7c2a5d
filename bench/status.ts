/**
 * `npm run bench -- status`: GET /v1/cases/{caseNumber}/fees on the real service (helmet, request
 * logging, metrics, API-key auth, validation, the case+invoices join) against a bare Express route
 * doing one indexed SELECT on the same knex pool. Target: the real endpoint at ≥ 50% of baseline req/s.
 *
 * Session auth: the fees route takes API keys only (no `sessions: true`), so keys and sessions are
 * compared on GET /v1/me, which takes both: a person signed in through the staff functions sends the
 * session cookie. Target: the session's rate ≥ 50% of baseline, as the key's. Printed beside them:
 * what one lookup costs (a cached session, the same session from the database, a cached key) and how
 * often the session run read staff_sessions (not once per request: the cache answers).
 */
import { createApiKey } from '../src/auth/api-key-store';
import { loadConfig } from '../src/config';
import { startService, type RunningService } from '../src/service';
import { setLogLevel } from '../src/shared/logger';
import { parseLoadArgs } from './support/args';
import { startBaseline } from './support/baseline';
import { benchDatabaseOrNull } from './support/db';
import { printTable, shuffled, warmAndMeasure } from './support/load';
import { sampleCaseNumbers, seedCasesAndInvoices } from './support/seed';
import { lookupCosts, signedInPerson, tableReads } from './support/staff-session';

const SEED = { cases: 30_000, invoices: 100_000 };
/** Distinct case numbers the load cycles over (each connection keeps a copy of every request). */
const PATHS = 2_000;
const TARGET_RATIO = 0.5;

export async function run(args: string[]): Promise<number> {
  const load = parseLoadArgs(args);
  const url = await benchDatabaseOrNull();
  if (!url) return 1;
  const config = loadConfig({ env: { ...process.env, NODE_ENV: 'test', DATABASE_URL: url, PORT: '0', LOG_LEVEL: 'error' } });
  setLogLevel(config.log.level); // as src/main.ts does; startService leaves the level alone

  let service: RunningService | null = null;
  let baseline: Awaited<ReturnType<typeof startBaseline>> | null = null;
  try {
    service = await startService(config);
    const knex = service.db.knex;
    let t = Date.now();
    await seedCasesAndInvoices(knex, config, SEED);
    console.log(`seeded ${SEED.cases} cases, ${SEED.invoices} invoices over ${config.courts.length} courts in ${((Date.now() - t) / 1000).toFixed(1)} s`);

    const { key } = await createApiKey(knex, config.auth, { role: 'case_system', courts: 'all', name: 'bench' });
    const person = await signedInPerson(knex, config);
    baseline = await startBaseline(knex);
    const numbers = shuffled(await sampleCaseNumbers(knex, PATHS)).map(encodeURIComponent);

    console.log(`load: ${load.connections} connections, ${load.duration} s each after ${load.warmup} s warm-up, ${numbers.length} distinct cases, ` +
      `${load.workers ? `${load.workers} autocannon worker thread(s)` : 'autocannon on the main thread'}`);
    t = Date.now();
    const real = await warmAndMeasure(
      { title: 'GET /v1/cases/{n}/fees', origin: `http://127.0.0.1:${service.port}`, paths: numbers.map((n) => `/v1/cases/${n}/fees`), headers: { authorization: `Bearer ${key}` } },
      load,
    );
    const me = (title: string, headers: Record<string, string>) => warmAndMeasure({ title, origin: `http://127.0.0.1:${service!.port}`, paths: ['/v1/me'], headers }, load);
    const meKey = await me('GET /v1/me, API key', { authorization: `Bearer ${key}` });
    const readsBefore = await tableReads(knex, 'staff_sessions');
    const meSession = await me('GET /v1/me, session cookie', { cookie: person.cookie });
    const base = await warmAndMeasure({ title: 'baseline (bare express)', origin: `http://127.0.0.1:${baseline.port}`, paths: numbers.map((n) => `/baseline/${n}`) }, load);
    const sessionReads = (await tableReads(knex, 'staff_sessions')) - readsBefore;
    const costs = await lookupCosts(knex, config, person.token, key);

    console.log('');
    printTable([real, meKey, meSession, base]);
    const ofBase = (r: { reqPerSec: number }) => (base.reqPerSec > 0 ? r.reqPerSec / base.reqPerSec : 0);
    const verdict = (ratio: number) => `${(ratio * 100).toFixed(1)}% — ${ratio >= TARGET_RATIO ? 'MET' : 'NOT MET'}`;
    const ratio = ofBase(real);
    console.log(`\nreal/baseline req/s: ${(ratio * 100).toFixed(1)}%`);
    console.log(`target: ≥ ${TARGET_RATIO * 100}% of baseline req/s — ${ratio >= TARGET_RATIO ? 'MET' : 'NOT MET'}`);
    console.log(`session auth (GET /v1/me; the fees route takes keys only): session ${meSession.reqPerSec.toFixed(0)} req/s, key ${meKey.reqPerSec.toFixed(0)} req/s, baseline ${base.reqPerSec.toFixed(0)} req/s`);
    console.log(`  target ≥ ${TARGET_RATIO * 100}% of baseline: key ${verdict(ofBase(meKey))}; session ${verdict(ofBase(meSession))}; session/key ${((meSession.reqPerSec / meKey.reqPerSec) * 100).toFixed(1)}%`);
    const perRequestUs = (r: { reqPerSec: number }) => 1e6 / r.reqPerSec;
    console.log(`  under load, a session request took ${(perRequestUs(meSession) - perRequestUs(meKey)).toFixed(1)} µs of service time more than a key request (${perRequestUs(meSession).toFixed(1)} against ${perRequestUs(meKey).toFixed(1)} µs per request)`);
    console.log(`  one lookup, alone: session from the cache ${costs.sessionCachedUs.toFixed(2)} µs, the same session from the database ${costs.sessionDatabaseUs.toFixed(0)} µs (a round trip), key from the cache ${costs.keyCachedUs.toFixed(2)} µs`);
    console.log(`  staff_sessions read ${sessionReads} time(s) during the session run's ${meSession.total} requests (and its warm-up): the cache answers, revoked through the listener as keys are`);
    console.log(`memory: RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB (includes the load generator); load phase ${((Date.now() - t) / 1000).toFixed(0)} s`);

    const failed = [real, meKey, meSession, base].filter((r) => r.non2xx + r.errors + r.timeouts > 0);
    for (const r of failed) console.error(`ERROR: ${r.title}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts; status codes ${JSON.stringify(r.statusCodes)}`);
    return failed.length ? 1 : 0;
  } finally {
    await baseline?.close();
    await service?.stop();
  }
}
