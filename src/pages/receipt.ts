/** The printable receipt (网上缴费回单) of the payments settled, and the refunds, on one fee notice. */
import { isSettled } from '../payments/transitions';
import { STRINGS, label, type Lang } from './i18n';
import { esc, page, payHref, yuanText } from './layout';
import { caseDetails, type NoticeView } from './parts';

export interface ReceiptLine {
  id: string;
  amount: number;
  /** ISO time. */
  at: string;
  method?: string | null;
  status: string;
}

const BEIJING = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
});

/** "2026-03-05 14:07" in Beijing time; an unreadable time is shown as given. */
export function beijingTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const parts = BEIJING.formatToParts(date);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')}`;
}

/**
 * One table per kind of line. Each cell carries its column's name (data-label): on a narrow screen
 * the rows are stacked as cards showing it beside the value, so nothing scrolls sideways.
 */
function linesTable(lang: Lang, caption: string, lines: ReceiptLine[], total: { label: string; fen: number }): string {
  const t = STRINGS[lang];
  const cell = (name: string, value: string, cls = '') => `<td${cls ? ` class="${cls}"` : ''} data-label="${esc(name)}">${esc(value)}</td>`;
  const rows = lines.map((l) => `<tr>${cell(t.paymentId, l.id, 'ref')}${cell(t.time, beijingTime(l.at))}`
    + cell(t.method, l.method ? label(lang, 'methods', l.method) : '—')
    + cell(t.status, label(lang, 'lineStatuses', l.status))
    + `${cell(t.amount, yuanText(l.amount), 'num amount')}</tr>`).join('\n');
  return `<table class="lines">
<caption>${esc(caption)}</caption>
<thead><tr><th scope="col">${esc(t.paymentId)}</th><th scope="col">${esc(t.time)}</th><th scope="col">${esc(t.method)}</th>`
    + `<th scope="col">${esc(t.status)}</th><th scope="col" class="num">${esc(t.amount)}</th></tr></thead>
<tbody>
${rows}
</tbody>
<tfoot><tr><th scope="row" colspan="4">${esc(total.label)}</th><td class="num amount">${esc(yuanText(total.fen))}</td></tr></tfoot>
</table>`;
}

const sumOf = (lines: ReceiptLine[]) => lines.reduce((s, l) => s + l.amount, 0);

export interface ReceiptView extends NoticeView {
  payments: ReceiptLine[];
  refunds: ReceiptLine[];
  /** 回单号 (receipt-lines.ts): identifies this record; not an official numbered receipt. */
  reference: string;
  /** When the page was produced (ISO). */
  issuedAt: string;
}

/**
 * Lists the settled payments (succeeded, disputed; attempts that took no money are left out) and
 * every refund in whatever state it is in. Totals count money that actually moved: the refunded
 * total only refunds that succeeded, and the net is paid minus that.
 */
export function renderReceipt(v: ReceiptView): string {
  const t = STRINGS[v.lang];
  const payments = v.payments.filter((p) => isSettled(p.status)); // money that reached the court: a disputed payment was settled and is still shown
  const refunds = v.refunds;
  const paid = sumOf(payments);
  const refunded = sumOf(refunds.filter((r) => r.status === 'succeeded'));
  const paymentsPart = payments.length === 0
    ? `<h2>${esc(t.payments)}</h2>\n<p>${esc(t.noPayments)}</p>`
    : linesTable(v.lang, t.payments, payments, { label: t.totalPaid, fen: paid });
  const refundsPart = refunds.length === 0 ? '' : linesTable(v.lang, t.refunds, refunds, { label: t.totalRefunded, fen: refunded });
  const body = `<h1>${esc(t.receiptTitle)}</h1>
<dl>
<dt>${esc(t.receiptRef)}</dt><dd class="ref">${esc(v.reference)}</dd>
<dt>${esc(t.issuedAt)}</dt><dd>${esc(beijingTime(v.issuedAt))}</dd>
</dl>
${caseDetails(v)}
<dl>
<dt>${esc(t.amountDue)}</dt><dd class="amount">${esc(yuanText(v.amountDue))}</dd>
<dt>${esc(t.status)}</dt><dd>${esc(label(v.lang, 'statuses', v.status))}</dd>
</dl>
<section aria-label="${esc(t.payments)}">
${paymentsPart}
${refundsPart}
</section>
<dl>
<dt>${esc(t.totalPaid)}</dt><dd class="amount">${esc(yuanText(paid))}</dd>
${refunded > 0 ? `<dt>${esc(t.totalRefunded)}</dt><dd class="amount">${esc(yuanText(refunded))}</dd>` : ''}
<dt>${esc(t.netPaid)}</dt><dd class="amount strong">${esc(yuanText(paid - refunded))}</dd>
</dl>
<p class="note">${esc(t.receiptNote)}</p>
<p class="note no-print">${esc(t.printHint)}</p>
<p class="no-print"><a href="${esc(payHref(v.token, '', v.lang))}">${esc(t.backToNotice)}</a></p>`;
  return page({ lang: v.lang, title: t.receiptTitle, courtName: v.courtName, body, sandbox: v.sandbox,
    switchHref: payHref(v.token, '/receipt', v.lang === 'zh' ? 'en' : 'zh') });
}
