import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { checkTrail } from '../../src/audit/chain-job';
import { CHAINED_TABLES, columnText, linkHash, type ChainedTable } from '../../src/audit/chain-hash';
import { auditVerifyCommand } from '../../src/cli/audit';
import { aCase, anInvoice, aPayment, api, auth } from '../support/builders';
import { keyFor, testEnv } from '../support/env';
import { anEvent, anIntent, aRefund, deliver, expectStripeStubsUsed, formBody, stripeApi } from '../support/stripe';

/** The command as an operator runs it: its exit code and what it printed. */
async function verify(args: { court?: string; from?: string } = {}) {
  const lines: string[] = [];
  const code = await auditVerifyCommand(testEnv().knex, args, { out: (l) => lines.push(l), err: (l) => lines.push(l) });
  return { code, text: lines.join('\n') };
}

/** Runs SQL as a superuser would: the table's append-only (and chain) triggers off for that transaction only. */
async function asSuperuser(table: ChainedTable, triggers: string[], fn: (tx: Knex.Transaction) => Promise<unknown>): Promise<void> {
  await testEnv().knex.transaction(async (tx) => {
    for (const t of triggers) await tx.raw(`alter table ${table} disable trigger ${t}`);
    await fn(tx);
    for (const t of triggers) await tx.raw(`alter table ${table} enable trigger ${t}`);
  });
}
const appendOnly = (table: ChainedTable) => `${table}_append_only`;

const auditRowsOf = (entityId: string) => testEnv().knex('audit_events').where({ entity_id: entityId }).orderBy('id');

/** A settled payment of a fresh invoice in `court`, through the API and the webhook's batch path. */
async function settledThroughWebhook(cs: string, courtCode: string) {
  const inv = await anInvoice(cs, await aCase(cs, { courtCode }));
  const p = await aPayment(inv.id, { settle: false });
  const e = anEvent('payment_intent.succeeded', anIntent({ id: p.payment_intent_id, status: 'succeeded', amount: p.amount, amount_received: p.amount, latest_charge: `ch_${p.id}`, metadata: { payment_id: p.public_id } }));
  const res = await deliver(e);
  expect(res.status, res.text).to.equal(200);
  return { invoiceId: inv.id, payment: await testEnv().knex('payments').where({ id: p.id }).first() };
}

/** Every link of a chain from `fromSeq` on, as the verifier reads them. */
async function linksFrom(tx: Knex.Transaction, chain: string, fromSeq: number) {
  const parts = (Object.keys(CHAINED_TABLES) as ChainedTable[]).map(
    (t) => `select '${t}' as tbl, id, chain_seq as seq, array[${CHAINED_TABLES[t].map(columnText).join(', ')}] as v from ${t}
             where ${t === 'audit_events' ? `coalesce(court_code, 'global')` : 'court_code'} = '${chain}' and chain_seq >= ${fromSeq}`,
  );
  return (await tx.raw(`${parts.join(' union all ')} order by seq`)).rows as { tbl: ChainedTable; id: number; seq: number; v: (string | null)[] }[];
}

/** The link(s) of a chain at one seq. */
async function linksAt(db: Knex, chain: string, seq: number) {
  return (await db.transaction((tx) => linksFrom(tx, chain, seq))).filter((l) => l.seq === seq);
}

/** What an attacker with the database would do after changing a row: recompute every hash from that row on, and the head. */
async function rehash(chain: string, fromSeq: number): Promise<void> {
  await testEnv().knex.transaction(async (tx) => {
    for (const t of Object.keys(CHAINED_TABLES)) await tx.raw(`alter table ${t} disable trigger ${t}_append_only`);
    const [prev] = (await tx.raw(`select chain_hash from audit_events where coalesce(court_code, 'global') = ? and chain_seq = ? union all select chain_hash from ledger_transactions where court_code = ? and chain_seq = ? union all select chain_hash from ledger_entries where court_code = ? and chain_seq = ?`, [chain, fromSeq - 1, chain, fromSeq - 1, chain, fromSeq - 1])).rows;
    let hash: Buffer = prev ? prev.chain_hash : Buffer.alloc(32);
    for (const l of await linksFrom(tx, chain, fromSeq)) {
      hash = linkHash(hash, l.tbl, chain, l.seq, l.v);
      await tx(l.tbl).where({ id: l.id }).update({ chain_hash: hash });
    }
    await tx('chain_heads').where({ chain }).update({ hash });
    for (const t of Object.keys(CHAINED_TABLES)) await tx.raw(`alter table ${t} enable trigger ${t}_append_only`);
  });
}

describe('audit: a trail that shows tampering', () => {
  let cs: string, clerk: string, approver: string;
  before(async () => {
    cs = await keyFor('case_system');
    clerk = await keyFor('clerk', ['1411']);
    approver = await keyFor('approver', ['1411']);
  });
  afterEach(expectStripeStubsUsed);

  it('when every writer writes (API, webhook batch path, webhook locking path, a refund, a key), then each row is chained in its court and every chain verifies', async () => {
    const { knex } = testEnv();
    const { invoiceId, payment } = await settledThroughWebhook(cs, '1411');
    // The locking path: a dispute is applied in one transaction with its rows locked.
    const dispute = (type: string, status: string) => anEvent(type, { id: `dp_${payment.id}`, object: 'dispute', amount: payment.amount, currency: 'cny', charge: payment.charge_id, payment_intent: payment.payment_intent_id, status, reason: 'fraudulent' });
    await deliver(dispute('charge.dispute.created', 'needs_response')).expect(200);
    await deliver(dispute('charge.dispute.closed', 'won')).expect(200);
    // A refund: requested and approved through the API, Stripe answering succeeded.
    const paid = await aPayment((await anInvoice(cs, await aCase(cs))).id);
    const req = await api().post(`/v1/payments/${paid.public_id}/refunds`).set(auth(clerk)).send({ amount: 1000, reasonCode: 'overpayment' });
    expect(req.status, req.text).to.equal(201);
    stripeApi().post('/v1/refunds').reply((_u, body) => [200, aRefund({ amount: 1000, status: 'succeeded', metadata: { refund_id: formBody(body)['metadata[refund_id]'] } })]);
    expect((await api().post(`/v1/refunds/${req.body.id}/approve`).set(auth(approver))).status).to.equal(200);
    const keyRow = await knex('audit_events').where({ action: 'api_key.created' }).orderBy('id', 'desc').first();

    // Each audit row carries its entity's court; a key belongs to none.
    for (const id of [invoiceId, payment.public_id, req.body.id]) {
      const rows = await auditRowsOf(id);
      expect(rows.length, id).to.be.greaterThan(0);
      for (const r of rows) expect(r, `${r.action} ${id}`).to.include({ court_code: '1411' });
    }
    expect(keyRow.court_code).to.equal(null);
    expect((await auditRowsOf(payment.public_id)).map((r) => r.action)).to.include.members(['payment.succeeded', 'payment.dispute_open']);
    const postings = await knex('ledger_transactions').whereIn('payment_id', [payment.id, paid.id]).orderBy('id');
    expect(postings.map((p) => p.kind)).to.include.members(['payment_settled', 'refund_settled']);
    for (const p of postings) expect(p.chain_seq).to.be.a('number');

    const one = await verify({ court: '1411' });
    expect(one.code, one.text).to.equal(0);
    expect(one.text).to.match(/^chain 1411: ok — \d+ rows verified, head seq \d+ hash [0-9a-f]{64}$/);
    const all = await verify();
    expect(all.code, all.text).to.equal(0);
    expect(all.text).to.match(/chain global: ok/);
  });

  it('when an audit row or a ledger line is changed directly in SQL (its append-only trigger disabled), then verify fails at exactly that row with exit code 1, and passes once it is put back', async () => {
    const { knex } = testEnv();
    const { invoiceId, payment } = await settledThroughWebhook(cs, '1412');
    const issued = (await auditRowsOf(invoiceId)).find((r) => r.action === 'invoice.issued');
    const original = (await knex.raw('select after::text as after from audit_events where id = ?', [issued.id])).rows[0].after;
    await asSuperuser('audit_events', [appendOnly('audit_events')], (tx) => tx.raw(`update audit_events set after = jsonb_set(after, '{amount}', '1') where id = ?`, [issued.id]));

    const broken = await verify({ court: '1412' });
    expect(broken.code).to.equal(1);
    expect(broken.text).to.include(`chain 1412: FAILED at audit_events id ${issued.id} (seq ${issued.chain_seq}): hash_mismatch`);
    expect((await verify({ court: '1411' })).code, 'another court is not affected').to.equal(0);
    if (!testEnv().embedded) {
      // The operator's command, as a real process on the same database.
      const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, '../../src/cli/main.ts'), 'audit', 'verify', '--court', '1412'], {
        env: { ...process.env, NODE_ENV: 'test', DATABASE_URL: testEnv().config.db.url! }, encoding: 'utf8', timeout: 60000,
      });
      expect(run.status, run.stderr).to.equal(1);
      expect(run.stdout).to.include(`chain 1412: FAILED at audit_events id ${issued.id} (seq ${issued.chain_seq}): hash_mismatch`);
    }

    await asSuperuser('audit_events', [appendOnly('audit_events')], (tx) => tx.raw('update audit_events set after = ?::jsonb where id = ?', [original, issued.id]));
    expect((await verify({ court: '1412' })).code).to.equal(0);

    // The money itself: two lines of the settlement moved by the same amount still balance, and are still caught.
    const lines = await knex('ledger_entries').join('ledger_transactions as t', 't.id', 'ledger_entries.transaction_id').where('t.payment_id', payment.id).orderBy('ledger_entries.id').select('ledger_entries.*');
    expect(lines).to.have.length(2);
    const shift = (by: number) => asSuperuser('ledger_entries', [appendOnly('ledger_entries')], async (tx) => {
      await tx.raw('update ledger_entries set amount = amount + ? where id = ?', [by, lines[0].id]);
      await tx.raw('update ledger_entries set amount = amount - ? where id = ?', [by, lines[1].id]);
    });
    await shift(-100);
    const moved = await verify({ court: '1412' });
    expect(moved.code).to.equal(1);
    expect(moved.text).to.include(`FAILED at ledger_entries id ${lines[0].id} (seq ${lines[0].chain_seq}): hash_mismatch`);
    await shift(100);
    expect((await verify({ court: '1412' })).code).to.equal(0);
  });

  it('when a row is deleted, then verify reports the gap at the row after it; when the last row is deleted, then the head no longer matches', async () => {
    const { knex } = testEnv();
    const { invoiceId } = await settledThroughWebhook(cs, '1412');
    const rows = await auditRowsOf(invoiceId);
    const [victim] = rows;
    // The chain's last link: the audit row of an invoice issued after the settlement.
    await anInvoice(cs, await aCase(cs, { courtCode: '1412' }));
    const head = await knex('chain_heads').where({ chain: '1412' }).first();
    const [last] = await linksAt(knex, '1412', head.seq);
    expect(last.tbl).to.equal('audit_events');
    /** Deletes a row as a superuser would; returns how to put it back exactly (same id, seq and hash). */
    const remove = async (table: ChainedTable, id: number) => {
      let saved: unknown;
      await asSuperuser(table, [appendOnly(table)], async (tx) => {
        saved = (await tx.raw(`delete from ${table} a where id = ? returning to_jsonb(a) as row`, [id])).rows[0].row;
      });
      return () => asSuperuser(table, [`${table}_chain`, `${table}_chain_head`], (tx) => tx.raw(`insert into ${table} overriding system value select * from jsonb_populate_record(null::${table}, ?::jsonb)`, [JSON.stringify(saved)]));
    };

    const putBack = await remove('audit_events', victim.id);
    const gap = await verify({ court: '1412' });
    expect(gap.code).to.equal(1);
    const [after] = await linksAt(knex, '1412', victim.chain_seq + 1);
    expect(gap.text).to.include(`FAILED at ${after.tbl} id ${after.id} (seq ${victim.chain_seq + 1}): missing_row — no row at seq ${victim.chain_seq}`);
    await putBack();
    expect((await verify({ court: '1412' })).code).to.equal(0);

    const putBackLast = await remove(last.tbl, last.id);
    const tail = await verify({ court: '1412' });
    expect(tail.code).to.equal(1);
    expect(tail.text).to.include(`FAILED at seq ${last.seq}: head_mismatch`);
    await putBackLast();
    expect((await verify({ court: '1412' })).code).to.equal(0);
  });

  it('when a row is rewritten and every hash after it recomputed, then the chain is caught against the head the nightly check published, and /metrics says so', async () => {
    const { knex } = testEnv();
    const { invoiceId } = await settledThroughWebhook(cs, '1421');
    const published = await checkTrail(knex, 'test:nightly');
    expect(published.every((r) => !r.failure), JSON.stringify(published.filter((r) => r.failure))).to.equal(true);
    const head = await knex('chain_heads').where({ chain: '1421' }).first();
    const cp = await knex('chain_checkpoints').where({ chain: '1421' }).orderBy('id', 'desc').first();
    expect(cp).to.include({ seq: head.seq, taken_by: 'test:nightly' });
    expect(Buffer.compare(cp.hash, head.hash)).to.equal(0);

    const issued = (await auditRowsOf(invoiceId)).find((r) => r.action === 'invoice.issued');
    const original = (await knex.raw('select after::text as after from audit_events where id = ?', [issued.id])).rows[0].after;
    await asSuperuser('audit_events', [appendOnly('audit_events')], (tx) => tx.raw(`update audit_events set after = jsonb_set(after, '{amount}', '1') where id = ?`, [issued.id]));
    await rehash('1421', issued.chain_seq);

    const caught = await verify({ court: '1421' });
    expect(caught.code).to.equal(1);
    expect(caught.text).to.match(new RegExp(`FAILED at \\w+ id \\d+ \\(seq ${cp.seq}\\): checkpoint_mismatch`));
    await checkTrail(knex, 'test:nightly');
    const metrics = await api().get('/metrics');
    expect(metrics.text).to.match(/courtpay_audit_chain_broken\{chain="1421"\} 1/);
    expect(metrics.text).to.match(/courtpay_audit_chain_broken\{chain="1411"\} 0/);

    // Put back as it was: the same content gives the same hashes, the published head matches again.
    await asSuperuser('audit_events', [appendOnly('audit_events')], (tx) => tx.raw('update audit_events set after = ?::jsonb where id = ?', [original, issued.id]));
    await rehash('1421', issued.chain_seq);
    expect((await verify({ court: '1421' })).code).to.equal(0);
    await checkTrail(knex, 'test:nightly');
    expect((await api().get('/metrics')).text).to.match(/courtpay_audit_chain_broken\{chain="1421"\} 0/);
  });

  it('when verify starts --from a day, then it starts at the last head published before it; bad arguments are exit code 2', async () => {
    const tomorrow = new Date(Date.now() + 86400_000).toISOString().slice(0, 10);
    const from = await verify({ court: '1421', from: tomorrow });
    expect(from.code, from.text).to.equal(0);
    expect(from.text).to.match(/chain 1421: ok — \d+ rows verified after seq [1-9]\d*/);
    expect((await verify({ from: '2026-02-30' })).code).to.equal(2);
    expect((await verify({ court: '9999' })).code).to.equal(2);
  });

  it('when many webhooks and API writes run at once, then each chain has every seq once: no gap, no fork', async function () {
    if (testEnv().embedded) this.skip(); // one connection: nothing runs at once there
    this.timeout(120000);
    const { knex } = testEnv();
    const pending = [];
    for (let i = 0; i < 24; i += 1) {
      const court = i % 2 ? '1411' : '1412';
      const inv = await anInvoice(cs, await aCase(cs, { courtCode: court }));
      pending.push(await aPayment(inv.id, { settle: false }));
    }
    const caseNumbers = await Promise.all(['1411', '1412', '1411', '1412'].map((courtCode) => aCase(cs, { courtCode })));
    const results = await Promise.all([
      ...pending.map((p) => deliver(anEvent('payment_intent.succeeded', anIntent({ id: p.payment_intent_id, status: 'succeeded', amount: p.amount, amount_received: p.amount, latest_charge: `ch_${p.id}`, metadata: { payment_id: p.public_id } })))),
      ...caseNumbers.flatMap((n) => [0, 1, 2].map(() => api().post(`/v1/cases/${encodeURIComponent(n)}/invoices`).set(auth(cs)).send({ feeKind: 'acceptance_labour', payer: { name: '李四', role: 'plaintiff' } }))),
    ]);
    for (const r of results) expect([200, 201], r.text).to.include(r.status);
    for (const chain of ['1411', '1412']) {
      const { rows } = await knex.raw(
        `select count(*)::int as n, count(distinct chain_seq)::int as distinct_seqs, min(chain_seq)::int as lo, max(chain_seq)::int as hi from (
           select chain_seq from audit_events where court_code = ? union all select chain_seq from ledger_transactions where court_code = ?
           union all select chain_seq from ledger_entries where court_code = ?) x`,
        [chain, chain, chain],
      );
      const head = await knex('chain_heads').where({ chain }).first();
      expect(rows[0]).to.deep.equal({ n: head.seq, distinct_seqs: head.seq, lo: 1, hi: head.seq });
      const v = await verify({ court: chain });
      expect(v.code, v.text).to.equal(0);
    }
  });
});

describe('audit: GET /v1/audit-events', () => {
  let cs: string, finance1411: string, financeAll: string, admin: string;
  let inv1411: string, inv1421: string;
  before(async () => {
    cs = await keyFor('case_system');
    finance1411 = await keyFor('finance', ['1411']);
    financeAll = await keyFor('finance', 'all');
    admin = await keyFor('admin', 'all');
    inv1411 = (await anInvoice(cs, await aCase(cs, { courtCode: '1411' }))).id;
    inv1421 = (await anInvoice(cs, await aCase(cs, { courtCode: '1421' }))).id;
  });
  const list = (key: string, query: Record<string, string | number> = {}) => api().get('/v1/audit-events').query(query).set(auth(key));

  it('when a court-scoped finance key reads the trail, then it sees its court\'s rows and never another court\'s or rows of no court', async () => {
    const mine = await list(finance1411, { entity: `invoice:${inv1411}` });
    expect(mine.status, mine.text).to.equal(200);
    expect(mine.body.data.map((e: { action: string }) => e.action)).to.include('invoice.issued');
    expect(mine.body.data[0]).to.include({ courtCode: '1411' }).and.to.have.keys('id', 'occurredAt', 'courtCode', 'actor', 'action', 'entity', 'requestId', 'before', 'after', 'chain');
    expect(mine.body.data[0].entity).to.deep.equal({ type: 'invoice', id: inv1411 });
    expect((await list(finance1411, { entity: `invoice:${inv1421}` })).body.data).to.deep.equal([]);
    const everything = await list(finance1411, { limit: 500 });
    expect(everything.body.data.length).to.be.greaterThan(0);
    expect(new Set(everything.body.data.map((e: { courtCode: string | null }) => e.courtCode))).to.deep.equal(new Set(['1411']));
    const named = await list(finance1411, { courtCode: '1421' });
    expect(named.status).to.equal(403);
    expect(named.body.code).to.equal('court_out_of_scope');

    const wide = await list(financeAll, { entity: `invoice:${inv1421}` });
    expect(wide.body.data.map((e: { courtCode: string }) => e.courtCode)).to.include('1421');
    const keys = await list(admin, { entity: 'api_key', limit: 5 });
    expect(keys.body.data.length).to.be.greaterThan(0);
    for (const e of keys.body.data) expect(e).to.include({ courtCode: null }) && expect(e.chain.name).to.equal('global');
  });

  it('when filtered by entity, actor, action and time, then only matching rows come back, in cursor pages that never overlap', async () => {
    const issued = (await list(admin, { entity: `invoice:${inv1411}`, action: 'invoice.issued' })).body.data;
    expect(issued).to.have.length(1);
    const actor = `${issued[0].actor.type}:${issued[0].actor.id}`;
    const byActor = await list(admin, { actor, action: 'invoice.*', limit: 500 });
    expect(byActor.body.data.length).to.be.greaterThan(0);
    for (const e of byActor.body.data) {
      expect(`${e.actor.type}:${e.actor.id}`).to.equal(actor);
      expect(e.action).to.match(/^invoice\./);
    }
    const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10); // the court day in Asia/Shanghai
    const tomorrow = new Date(Date.now() + 32 * 3600_000).toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 16 * 3600_000).toISOString().slice(0, 10);
    expect((await list(admin, { entity: `invoice:${inv1411}`, from: today, to: today })).body.data).to.have.length.greaterThan(0);
    expect((await list(admin, { entity: `invoice:${inv1411}`, from: tomorrow })).body.data).to.deep.equal([]);
    expect((await list(admin, { entity: `invoice:${inv1411}`, to: yesterday })).body.data).to.deep.equal([]);
    expect((await list(admin, { entity: `invoice:${inv1411}`, from: new Date(Date.now() - 3600_000).toISOString() })).body.data).to.have.length.greaterThan(0);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { data: { id: string }[]; nextCursor: string | null } } = await list(finance1411, { actor, limit: 1, ...(cursor ? { cursor } : {}) });
      seen.push(...page.body.data.map((e) => e.id));
      cursor = page.body.nextCursor;
    } while (cursor && seen.length < 5);
    expect(seen.length).to.be.greaterThan(1);
    expect(new Set(seen).size).to.equal(seen.length);
  });

  it('when the query is bad or the role is not finance or admin, then 4xx problem+json', async () => {
    const bad: Record<string, string | number>[] = [{ entity: 'Invoice!' }, { from: '2026-13-01' }, { action: 'DROP TABLE' }, { limit: 0 }, { cursor: 'nope' }];
    for (const query of bad) {
      const res = await list(admin, query);
      expect(res.status, JSON.stringify(query)).to.equal(422);
      expect(res.type).to.equal('application/problem+json');
    }
    expect((await list(await keyFor('clerk', 'all'))).status).to.equal(403);
    expect((await api().get('/v1/audit-events')).status).to.equal(401);
  });
});
