import { expect } from 'chai';
import type { Knex } from 'knex';
import request from 'supertest';
import { ApiKeyAuthenticator, createApiKey, revokeApiKey } from '../../src/auth/api-key-store';
import { buildApp } from '../../src/http/app';
import { auth } from '../support/builders';
import { testEnv } from '../support/env';

async function lookupsDuring(knex: Knex, fn: () => Promise<unknown>): Promise<number> {
  let n = 0;
  const listener = (q: { sql: string }) => void (/from "api_keys"/.test(q.sql) && (n += 1));
  knex.on('query', listener);
  try {
    await fn();
  } finally {
    knex.off('query', listener);
  }
  return n;
}

async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((r) => setTimeout(r, 20));
}

describe('revocation after a database blip', () => {
  it('when the LISTEN connection is cut, then a key revoked meanwhile is refused at once, and after the reconnect a revocation arrives by NOTIFY again', async function () {
    // The embedded database is one session in this process: there is no listener connection to lose.
    if (testEnv().embedded) this.skip();
    this.timeout(60_000);
    const { knex, config, processor } = testEnv();
    // A cache lifetime of an hour: whatever is refused below is refused because of the listener, never expiry.
    const authenticator = new ApiKeyAuthenticator(knex, { ...config.auth, keyCacheTtlMs: 3_600_000, revocationReconnectMinMs: 2000, revocationReconnectMaxMs: 2000 });
    const app = buildApp({ knex, config, authenticator, processor });
    const applicationName = new URL(config.db.url!).searchParams.get('application_name');
    const listenerPids = async () =>
      (await knex.raw(`select pid from pg_stat_activity where query ilike 'LISTEN%' and application_name = ?`, [applicationName])).rows.map((r: { pid: number }) => r.pid);
    await authenticator.listen(config.db.url!);
    try {
      const first = await createApiKey(knex, config.auth, { role: 'clerk', courts: 'all', name: 'revoked while the listener is down' });
      const second = await createApiKey(knex, config.auth, { role: 'clerk', courts: 'all', name: 'revoked after the reconnect' });
      for (const { key } of [first, second]) await request(app).get('/v1/courts').set(auth(key)).expect(200);
      expect(await lookupsDuring(knex, () => request(app).get('/v1/courts').set(auth(first.key)).expect(200)), 'served from the cache').to.equal(0);

      const [before] = await listenerPids();
      const { rows } = await knex.raw(`select pg_terminate_backend(pid) as terminated from pg_stat_activity where query ilike 'LISTEN%' and application_name = ?`, [applicationName]);
      expect(rows).to.deep.equal([{ terminated: true }]);
      await until(() => !authenticator.trustsCache);
      await revokeApiKey(knex, first.id); // its NOTIFY reaches nobody here
      const refused = await request(app).get('/v1/courts').set(auth(first.key));
      expect(refused.status, 'refused at once, not after the cache lifetime').to.equal(401);
      expect(await lookupsDuring(knex, () => request(app).get('/v1/courts').set(auth(second.key)).expect(200)), 'nothing cached is trusted meanwhile').to.equal(1);

      await until(() => authenticator.trustsCache);
      const [after] = await listenerPids();
      expect(after).to.be.a('number').and.not.equal(before);
      await request(app).get('/v1/courts').set(auth(second.key)).expect(200);
      expect(await lookupsDuring(knex, () => request(app).get('/v1/courts').set(auth(second.key)).expect(200)), 'the cache is trusted again').to.equal(0);

      await revokeApiKey(knex, second.id);
      await until(async () => (await request(app).get('/v1/courts').set(auth(second.key))).status === 401);
      expect(await listenerPids(), 'the same connection throughout: the NOTIFY, not a reconnect, emptied the cache').to.deep.equal([after]);
    } finally {
      await authenticator.close();
    }
  });
});
