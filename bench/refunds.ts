/**
 * `npm run bench -- refunds`: 200 concurrent clients requesting refunds on 20 settled payments, on
 * real Postgres, with the local sandbox standing in for Stripe (no nock). Prints requests/s, p99,
 * and — the point — the amount accepted against what was refundable, per payment: never higher.
 * Then approves a sample through the sandbox and checks that what Stripe paid back stays within it.
 */
import autocannon from 'autocannon';
import { createApiKey } from '../src/auth/api-key-store';
import { loadConfig } from '../src/config';
import { startService, type RunningService } from '../src/service';
import { setLogLevel } from '../src/shared/logger';
import { parseLoadArgs } from './support/args';
import { benchDatabaseOrNull } from './support/db';

const PAYMENTS = 20;
const REFUND_AMOUNT = 1000; // fen per request: the 20 payments of 1,050.00 yuan hold 2,100 of them, used up mid-run
const APPROVALS = 100;

export async function run(args: string[]): Promise<number> {
  const load = parseLoadArgs(args.length ? args : ['--connections', '200']);
  const url = await benchDatabaseOrNull(process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/courtpay_bench_refunds');
  if (!url) return 1;
  const config = loadConfig({ env: { ...process.env, NODE_ENV: 'test', DATABASE_URL: url, PORT: '0', LOG_LEVEL: 'error', STRIPE_SECRET_KEY: '' } });
  setLogLevel(config.log.level);
  let service: RunningService | null = null;
  try {
    service = await startService(config);
    if (!service.sandbox) throw new Error('expected the sandbox processor (no STRIPE_SECRET_KEY)');
    const base = `http://127.0.0.1:${service.port}`;
    const knex = service.db.knex;
    const keys = {
      cs: (await createApiKey(knex, config.auth, { role: 'case_system', courts: 'all', name: 'bench cs' })).key,
      clerk: (await createApiKey(knex, config.auth, { role: 'clerk', courts: 'all', name: 'bench clerk' })).key,
      approver: (await createApiKey(knex, config.auth, { role: 'approver', courts: 'all', name: 'bench approver' })).key,
    };
    const call = async (key: string | null, method: string, path: string, body?: unknown) => {
      const r = await fetch(base + path, { method, redirect: 'manual', headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
      return { status: r.status, location: r.headers.get('location'), json: r.headers.get('content-type')?.includes('json') ? await r.json() : null };
    };

    // 20 invoices, each paid through the real pay flow: checkout → sandbox → signed webhook.
    let t = Date.now();
    for (let i = 1; i <= PAYMENTS; i++) {
      const caseNumber = encodeURIComponent(`(2026)晋0105民初${90000 + i}号`);
      await call(keys.cs, 'PUT', `/v1/cases/${caseNumber}`, { courtCode: '1411', caseType: 'civil' });
      const inv = (await call(keys.cs, 'POST', `/v1/cases/${caseNumber}/invoices`, { feeKind: 'acceptance_property', claimAmount: 5_000_000, payer: { name: '王五', role: 'plaintiff' } })).json as { paymentUrl: string };
      const token = inv.paymentUrl.split('/pay/')[1];
      const go = await call(null, 'POST', `/pay/${token}/checkout`);
      await service.sandbox.pay(go.location!.split('/').pop()!);
    }
    await service.sandbox.flush();
    const paid = await knex('payments').where({ status: 'succeeded' }).select('id', 'public_id', 'settled_amount');
    if (paid.length !== PAYMENTS) throw new Error(`only ${paid.length} of ${PAYMENTS} payments settled`);
    const refundable = paid.reduce((s, p) => s + Number(p.settled_amount), 0);
    console.log(`paid ${PAYMENTS} invoices through checkout, the sandbox and the webhook in ${((Date.now() - t) / 1000).toFixed(1)} s; refundable ${refundable} fen`);

    console.log(`load: ${load.connections} connections for ${load.duration} s, ${REFUND_AMOUNT} fen per request, cycling over ${PAYMENTS} payments`);
    t = Date.now();
    const result = await autocannon({
      url: base,
      connections: load.connections,
      duration: load.duration,
      ...(load.workers > 0 ? { workers: load.workers } : {}),
      headers: { authorization: `Bearer ${keys.clerk}`, 'content-type': 'application/json' },
      requests: paid.map((p) => ({ method: 'POST' as const, path: `/v1/payments/${p.public_id}/refunds`, body: JSON.stringify({ amount: REFUND_AMOUNT, reasonCode: 'overpayment' }) })),
    });
    const codes = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([c, s]) => [c, (s as { count: number }).count]));
    const perPayment = await knex('refunds').groupBy('payment_id').select('payment_id').sum<{ payment_id: number; sum: string }[]>('amount as sum');
    const settled = new Map(paid.map((p) => [p.id, Number(p.settled_amount)]));
    const over = perPayment.filter((r) => Number(r.sum) > settled.get(r.payment_id)!);
    const accepted = perPayment.reduce((s, r) => s + Number(r.sum), 0);

    console.log('');
    console.log(`requests/s ${result.requests.average.toFixed(1)}  p50 ${result.latency.p50} ms  p99 ${result.latency.p99} ms  total ${result.requests.total}  errors ${result.errors + result.timeouts}`);
    console.log(`status codes: ${JSON.stringify(codes)} (201 accepted, 422 amount_exceeds_refundable)`);
    const usedUp = perPayment.filter((r) => Number(r.sum) === settled.get(r.payment_id)).length;
    console.log(`accepted ${accepted} fen in ${codes['201'] ?? 0} refunds vs refundable ${refundable} fen — ${accepted <= refundable ? 'within' : 'EXCEEDED'}; ` +
      `payments refunded exactly to their settled amount: ${usedUp}/${PAYMENTS}; over it: ${over.length}`);

    // Approve a sample concurrently through the sandbox (Stripe stand-in) and check the money.
    const sample = await knex('refunds').where({ status: 'requested' }).orderBy('id').limit(APPROVALS).pluck('public_id');
    t = Date.now();
    const approvals = await Promise.all(sample.map((id) => call(keys.approver, 'POST', `/v1/refunds/${id}/approve`)));
    await service.sandbox.flush();
    const seconds = (Date.now() - t) / 1000;
    const succeeded = await knex('refunds').where({ status: 'succeeded' }).groupBy('payment_id').select('payment_id').sum<{ payment_id: number; sum: string }[]>('amount as sum');
    const paidBackOver = succeeded.filter((r) => Number(r.sum) > settled.get(r.payment_id)!);
    const [{ unbalanced }] = (await knex.raw('select count(*)::int as unbalanced from (select transaction_id from ledger_entries group by 1 having sum(amount) <> 0) x')).rows;
    console.log(`approved ${approvals.filter((a) => a.status === 200).length}/${sample.length} in ${seconds.toFixed(1)} s (${(sample.length / seconds).toFixed(1)}/s) through the sandbox; ` +
      `refunds succeeded ${succeeded.reduce((s, r) => s + Number(r.sum), 0)} fen; paid back over settled: ${paidBackOver.length}; unbalanced ledger transactions: ${unbalanced}`);
    return over.length || paidBackOver.length || unbalanced ? 1 : 0;
  } finally {
    await service?.stop();
  }
}
