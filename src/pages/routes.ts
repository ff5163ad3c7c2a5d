import type { Knex } from 'knex';
import type { Config } from '../config';
import { courtToday } from '../courts/courts';
import { limitPagePosts, RateLimitedError } from '../http/rate-limit';
import type { RouteDef } from '../http/route';
import { courtTimeZone, money, type InvoiceRow, type RemissionRow } from '../invoices/present';
import { isOverdue, outstanding } from '../invoices/status';
import { startCheckout, ProcessorUnavailableError } from '../payments/checkout';
import type { PaymentRow } from '../payments/payment-store';
import { isSettled } from '../payments/transitions';
import { nextPart } from '../payments/limits';
import { pageCallOptions, type Processor } from '../payments/processor';
import { refreshPendingPayment } from '../payments/refresh';
import { isDatabaseUnavailable } from '../db';
import { DatabaseUnavailableError, NotFoundError } from '../shared/errors';
import type { Request, Response } from 'express';
import { explicitLang, langCookie, STRINGS } from './i18n';
import { receiptFacts } from './receipt-lines';
import { pickLang, renderNotFound, renderNotice, renderProblem, renderReceipt, renderReturn, type Lang, type NoticeView } from './views';

const TOKEN = /^[A-Za-z0-9_-]{20,100}$/;

type Loaded = { invoice: InvoiceRow & { case_number: string }; view: NoticeView; payments: PaymentRow[] };

async function load(db: Knex, config: Readonly<Config>, processor: Processor, token: string, lang: Lang): Promise<Loaded | null> {
  if (!TOKEN.test(token)) return null;
  const invoice = await db('invoices as i').join('cases as c', 'c.id', 'i.case_id').where('i.payment_token', token).first<InvoiceRow & { case_number: string }>('i.*', 'c.case_number');
  if (!invoice) return null;
  const [remissions, payments] = await Promise.all([
    db<RemissionRow>('invoice_remissions').where({ invoice_id: invoice.id, status: 'approved' }).orderBy('id'), // pending or rejected ones change nothing the payer owes
    db<PaymentRow>('payments').where({ invoice_id: invoice.id }).orderBy('id'),
  ]);
  const m = money(invoice);
  const court = config.courts.find((c) => c.code === invoice.court_code);
  const view: NoticeView = {
    token,
    lang,
    courtName: court?.name ?? invoice.court_code,
    caseNumber: invoice.case_number,
    payer: { name: invoice.payer.name, role: invoice.payer.role },
    feeKind: invoice.fee_kind,
    breakdown: invoice.breakdown as NoticeView['breakdown'],
    statutoryAmount: invoice.statutory_amount,
    amountDue: invoice.amount_due,
    paidAmount: invoice.paid_amount,
    outstanding: outstanding(m),
    nextPart: nextPart(outstanding(m)),
    dueDate: invoice.due_date,
    overdue: isOverdue(m, invoice.due_date, courtToday(courtTimeZone(config, invoice.court_code))),
    status: invoice.status as NoticeView['status'],
    remissions: remissions.map((r) => ({ kind: r.kind as 'deferral', decisionRef: r.decision_ref })),
    sharePercent: (invoice.basis as { sharePercent?: number }).sharePercent,
    // Paid by an asynchronous method that is still settling: the processor has the payer's instruction.
    processing: payments.some((p) => p.status === 'pending' && p.payment_intent_id !== null && p.failure_reason === null),
    sandbox: processor.kind === 'sandbox',
  };
  return { invoice, view, payments };
}

const html = (status: number, body: string) => ({ status, body, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' } });
/** The database is out of reach for a moment: a page asking the litigant to try again shortly, not a problem document. */
function unavailable(lang: Lang, token: string) {
  const page = html(503, renderProblem(lang, { zh: STRINGS.zh.unavailableText, en: STRINGS.en.unavailableText }, token));
  return { ...page, headers: { ...page.headers, 'retry-after': String(DatabaseUnavailableError.retryAfterSeconds) } };
}
/** Chinese unless the litigant chose: a choice (?lang=, the form's lang) is kept in the lang cookie, which later pages follow. */
function langOf(req: Request, res: Response): Lang {
  const chosen = explicitLang((req.body as { lang?: unknown } | undefined)?.lang ?? req.query);
  if (chosen) res.append('set-cookie', langCookie(chosen));
  return chosen ?? pickLang(undefined, req.get('cookie'));
}

/** The litigant's pages, reached by the unguessable token on the fee notice; no account. */
export function pageRoutes(processor: Processor): RouteDef[] {
  const page = (path: string, summary: string, render: (l: Loaded, ctx: { db: Knex; lang: Lang; config: Readonly<Config> }) => Promise<string> | string): RouteDef => ({
    method: 'get', path, summary, tag: 'pages', access: 'public', produces: 'text/html', responses: { 200: 'HTML page', 404: 'unknown link (HTML)', 503: 'the database briefly unavailable (HTML, Retry-After)' },
    async read({ req, res, params, db, config }) {
      const lang = langOf(req, res);
      try {
        const loaded = await load(db, config, processor, params.token, lang);
        if (!loaded) return html(404, renderNotFound(lang));
        return html(200, await render(loaded, { db, lang, config }));
      } catch (e) {
        if (isDatabaseUnavailable(e)) return unavailable(lang, params.token);
        throw e;
      }
    },
  });
  return [
    page('/pay/{token}', 'The fee notice, with a pay button', (l) => renderNotice(l.view)),
    page('/pay/{token}/return', 'After the processor: paid, processing or not completed (from our own state)', async (l, { db, lang, config }) => {
      // A short, unretried call: a processor that does not answer in time leaves the page at "processing", refreshing itself.
      const state = await refreshPendingPayment(db, config, processor, l.invoice.id, pageCallOptions(config));
      const now = (await load(db, config, processor, l.view.token, lang)) ?? l; // after applying what the processor said
      const latest = now.payments.at(-1); // the attempt the payer comes back from (a part of a large fee, perhaps)
      const paid = (now.view.outstanding === 0 && now.view.paidAmount > 0) || (latest !== undefined && isSettled(latest.status));
      const outcome = paid ? 'paid' : state === 'settling' || state === 'unknown' ? 'processing' : 'not_completed';
      return renderReturn({ ...now.view, outcome });
    }),
    page('/pay/{token}/receipt', 'A printable receipt of settled payments and every refund', async (l, { db }) =>
      renderReceipt({ ...l.view, ...(await receiptFacts(db, l.invoice, l.payments)) }),
    ),
    {
      method: 'post', path: '/pay/{token}/checkout', summary: 'Create or reuse the open Checkout Session → 303 to it', tag: 'pages', access: 'public', produces: 'text/html',
      responses: { 303: 'to the processor’s checkout page, or back to the notice when nothing is owed', 404: 'unknown link (HTML)', 429: 'too many posts from this address (HTML, Retry-After)', 503: 'processor unavailable (HTML)' },
      async read({ req, res, params, db, config }) {
        const lang = langOf(req, res);
        try {
          await limitPagePosts(req, db, config); // each post may call the processor: counted per address, across instances
          if (!TOKEN.test(params.token)) return html(404, renderNotFound(lang));
          const { redirect } = await startCheckout(db, processor, config, params.token, lang, pageCallOptions(config));
          return { status: 303, headers: { location: redirect, 'cache-control': 'no-store' } };
        } catch (e) {
          if (e instanceof NotFoundError) return html(404, renderNotFound(lang));
          if (isDatabaseUnavailable(e)) return unavailable(lang, params.token);
          if (e instanceof RateLimitedError) {
            // A litigant's form gets a page in their language, not a JSON problem.
            const page = html(429, renderProblem(lang, { zh: '此网络地址的请求过多，请几分钟后再试。您没有被扣款。', en: 'Too many requests from this network address. Please try again in a few minutes. You have not been charged.' }, params.token));
            return { ...page, headers: { ...page.headers, ...e.extra.headers } };
          }
          if (e instanceof ProcessorUnavailableError) {
            return html(503, renderProblem(lang, { zh: '支付服务暂时无法连接，请几分钟后再试。您没有被扣款。', en: 'The payment service cannot be reached just now. Please try again in a few minutes. You have not been charged.' }, params.token));
          }
          throw e;
        }
      },
    },
  ];
}
