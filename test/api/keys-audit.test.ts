import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ApiKeyAuthenticator, createApiKey, revokeApiKey } from '../../src/auth/api-key-store';
import { hashKey } from '../../src/auth/keys';
import { api, auth } from '../support/builders';
import { keyFor, testEnv } from '../support/env';

const run = promisify(execFile);

describe('API keys and the audit trail', () => {
  it('when a key is created, then only its hash is stored and it authenticates with its role and courts', async () => {
    const { id, key } = await createApiKey(testEnv().knex, testEnv().config.auth, { role: 'clerk', courts: ['1401', '1402'], name: 'counter 3' });
    const row = await testEnv().knex('api_keys').where({ public_id: id }).first();
    expect(row).to.include({ role: 'clerk', all_courts: false, key_hash: hashKey(key), name: 'counter 3' });
    expect(row.court_codes).to.deep.equal(['1401', '1402']);
    expect(JSON.stringify(row)).not.to.include(key.slice(4, 36));
    const res = await api().get('/v1/courts').set(auth(key));
    expect(res.body.data.map((c: { code: string }) => c.code)).to.deep.equal(['1401', '1402']);
    const audit = await testEnv().knex('audit_events').where({ entity_type: 'api_key', entity_id: id }).first();
    expect(audit.action).to.equal('api_key.created');
    expect(JSON.stringify(audit)).not.to.include(key);
  });

  it('when a key names an unknown court, then it is refused naming courts', async () => {
    const err = await createApiKey(testEnv().knex, testEnv().config.auth, { role: 'clerk', courts: ['1401', '7777'], name: 'x' }).then(
      () => null,
      (e: { errors?: { field: string }[] }) => e,
    );
    expect(err?.errors?.[0].field).to.equal('courts');
  });

  it('when a key is used, then last_used_at is recorded', async () => {
    const key = await keyFor('finance');
    await api().get('/v1/courts').set(auth(key)).expect(200);
    await new Promise((r) => setTimeout(r, 100));
    const row = await testEnv().knex('api_keys').where({ key_hash: hashKey(key) }).first();
    expect(row.last_used_at).to.be.instanceOf(Date);
  });

  it('when a key is revoked on another instance, then a cached key stops working at once (LISTEN/NOTIFY)', async function () {
    if (testEnv().embedded) this.skip(); // the embedded database is single-session: no second instance, no listener connection
    const { id, key } = await createApiKey(testEnv().knex, testEnv().config.auth, { role: 'clerk', courts: 'all', name: 'to revoke' });
    const instance = new ApiKeyAuthenticator(testEnv().knex, { ...testEnv().config.auth, keyCacheTtlMs: 60_000 });
    await instance.listen(testEnv().config.db.url!);
    try {
      expect((await instance.authenticate(key))?.roles).to.deep.equal(['clerk']);
      await revokeApiKey(testEnv().knex, id);
      const deadline = Date.now() + 3000;
      while ((await instance.authenticate(key)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await instance.authenticate(key)).to.equal(null);
    } finally {
      await instance.close();
    }
  });

  it('when anyone tries to change or delete an audit row, then the database refuses', async () => {
    const [row] = await testEnv().knex('audit_events').select('id').limit(1);
    for (const attempt of [() => testEnv().knex('audit_events').where({ id: row.id }).update({ action: 'forged' }), () => testEnv().knex('audit_events').where({ id: row.id }).delete()]) {
      let err: Error | null = null;
      try {
        await attempt();
      } catch (e) {
        err = e as Error;
      }
      expect(err?.message).to.match(/append-only/);
    }
    expect((await testEnv().knex('audit_events').where({ id: row.id }).first()).action).not.to.equal('forged');
  });

  it('when the operator uses the CLI, then keys create prints the key once, list shows it, and revoke stops it', async function () {
    if (testEnv().embedded) this.skip(); // the CLI opens the database itself; the embedded one is held by this test process
    this.timeout(60000);
    const env = { ...process.env, NODE_ENV: 'test', DATABASE_URL: testEnv().config.db.url!, LOG_LEVEL: 'error' };
    const created = await run('npx', ['tsx', 'src/cli/main.ts', 'keys', 'create', '--role', 'approver', '--courts', '1411,1412', '--name', 'CLI approver'], { env });
    const key = created.stdout.trim().split('\n').pop()!;
    const id = /Created API key (key_\w+)/.exec(created.stdout)![1];
    expect(key).to.match(/^cpk_/);
    expect((await api().get('/v1/courts').set(auth(key))).body.data.map((c: { code: string }) => c.code)).to.deep.equal(['1411', '1412']);
    const listed = await run('npx', ['tsx', 'src/cli/main.ts', 'keys', 'list'], { env });
    expect(listed.stdout).to.include(id).and.not.include(key);
    await run('npx', ['tsx', 'src/cli/main.ts', 'keys', 'revoke', id], { env });
    expect((await testEnv().knex('api_keys').where({ public_id: id }).first()).revoked_at).to.be.instanceOf(Date);
    const failed = await run('npx', ['tsx', 'src/cli/main.ts', 'keys', 'create', '--role', 'wizard', '--courts', 'all', '--name', 'x'], { env }).then(
      () => null,
      (e: { code?: number; stderr?: string }) => e,
    );
    expect(failed?.code).to.equal(2);
    expect(failed?.stderr).to.include('--role');
  });
});
