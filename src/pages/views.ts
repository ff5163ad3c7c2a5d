/**
 * The litigant's pages, reached from the payment link on the fee notice (缴费通知书).
 * Pure functions from a view to a complete HTML document: no I/O, no scripts.
 */
import { MAX_CHARGE_FEN } from '../payments/limits';
import { STRINGS, type Lang } from './i18n';
import { esc, page, payHref, yuanText } from './layout';
import { amountsList, breakdownTable, caseDetails, remissionsList, type NoticeView } from './parts';

export { pickLang, type Lang } from './i18n';
export type { NoticeView } from './parts';
export { renderReceipt, type ReceiptLine, type ReceiptView } from './receipt';

const other = (lang: Lang): Lang => (lang === 'zh' ? 'en' : 'zh');

function box(kind: 'ok' | 'warn' | 'info' | 'pay', heading: string, ...paragraphs: string[]): string {
  return `<div class="box${kind === 'pay' ? '' : ` ${kind}`}" role="${kind === 'warn' ? 'alert' : 'status'}">
<h2>${esc(heading)}</h2>
${paragraphs.filter(Boolean).join('\n')}
</div>`;
}

const para = (text: string) => `<p>${esc(text)}</p>`;
const receiptLink = (v: NoticeView) => `<p><a href="${esc(payHref(v.token, '/receipt', v.lang))}">${esc(STRINGS[v.lang].viewReceipt)}</a></p>`;

/** What the litigant can do now: pay, wait, or nothing (paid, refunded, withdrawn). */
function noticeAction(v: NoticeView): string {
  const t = STRINGS[v.lang];
  if (v.status === 'cancelled') return box('info', t.cancelled, para(t.cancelledText));
  if (v.status === 'refunded') return box('info', t.refunded, para(t.refundedText), receiptLink(v));
  if (v.status === 'partially_refunded') return box('info', t.partiallyRefunded, para(t.partiallyRefundedText), receiptLink(v));
  if (v.outstanding > 0) {
    const overdue = v.overdue ? box('warn', t.overdue, para(t.overdueText)) : '';
    if (v.processing) return overdue + box('info', t.processing, para(t.processingText));
    const form = `<form method="post" action="${esc(payHref(v.token, '/checkout'))}">
<input type="hidden" name="lang" value="${esc(v.lang)}">
<button type="submit">${esc(t.payNow(yuanText(v.nextPart)))}</button>
</form>
${v.nextPart < v.outstanding ? `<p class="note">${esc(t.inParts(yuanText(MAX_CHARGE_FEN), yuanText(v.outstanding - v.nextPart)))}</p>\n` : ''}<p class="note">${esc(t.payHint)}</p>`;
    return `${overdue}<div class="box">
<p>${esc(t.outstanding)}${t.colon}<span class="amount strong">${esc(yuanText(v.outstanding))}</span></p>
<p>${esc(t.dueDate)}${t.colon}${esc(v.dueDate)}</p>
${form}
</div>${v.paidAmount > 0 ? receiptLink(v) : ''}`;
  }
  if (v.amountDue === 0 && v.paidAmount === 0) return box('ok', t.nothingToPay, para(t.nothingToPayText));
  const over = v.paidAmount > v.amountDue ? para(t.overpaidText(yuanText(v.paidAmount - v.amountDue))) : '';
  return box('ok', t.paidInFull, over, receiptLink(v));
}

export function renderNotice(v: NoticeView): string {
  const t = STRINGS[v.lang];
  const body = `<h1>${esc(t.noticeTitle)}</h1>
${caseDetails(v)}
${noticeAction(v)}
<section aria-labelledby="amounts-h">
<h2 id="amounts-h">${esc(t.amount)}</h2>
${amountsList(v, { withDueDate: true })}
</section>
${remissionsList(v)}
${breakdownTable(v)}`;
  return page({ lang: v.lang, title: t.noticeTitle, courtName: v.courtName, body, sandbox: v.sandbox,
    switchHref: payHref(v.token, '', other(v.lang)) });
}

export type ReturnOutcome = 'paid' | 'processing' | 'not_completed';

/** After the processor sends the litigant back: the outcome comes from the service's own records. */
export function renderReturn(v: NoticeView & { outcome: ReturnOutcome }): string {
  const t = STRINGS[v.lang];
  const notice = payHref(v.token, '', v.lang);
  const view = {
    paid: { title: t.thanks, main: `${para(t.thanksText(yuanText(v.paidAmount)))}
<a class="button" href="${esc(payHref(v.token, '/receipt', v.lang))}">${esc(t.viewReceipt)}</a>`, back: true },
    processing: { title: t.confirming, main: `${para(t.confirmingText)}
<p><a href="${esc(payHref(v.token, '/return', v.lang))}">${esc(t.checkAgain)}</a></p>`, back: true },
    not_completed: { title: t.notCompleted, main: `${para(t.notCompletedText)}
<a class="button" href="${esc(notice)}">${esc(t.tryAgain)}</a>`, back: false },
  }[v.outcome];
  const body = `<h1>${esc(view.title)}</h1>
<div class="box${v.outcome === 'paid' ? ' ok' : v.outcome === 'processing' ? ' info' : ' warn'}" role="status">
${view.main}
</div>
${caseDetails(v)}
${view.back ? `<p class="no-print"><a href="${esc(notice)}">${esc(t.backToNotice)}</a></p>` : ''}`;
  return page({ lang: v.lang, title: view.title, courtName: v.courtName, body, sandbox: v.sandbox,
    switchHref: payHref(v.token, '/return', other(v.lang)), refreshSeconds: v.outcome === 'processing' ? 5 : undefined });
}

/** An unknown or malformed payment link. Nothing about any invoice is revealed. */
export function renderNotFound(lang: Lang): string {
  const t = STRINGS[lang];
  return page({ lang, title: t.notFoundTitle, switchHref: `?lang=${other(lang)}`,
    body: `<h1>${esc(t.notFoundTitle)}</h1>\n${para(t.notFoundText)}` });
}

/**
 * A friendly error page, never a stack trace. It may answer a POST, so instead of a language link
 * it carries the message in the other language too; given the token, it links back to the notice.
 */
export function renderProblem(lang: Lang, message: { zh: string; en: string }, token?: string): string {
  const t = STRINGS[lang];
  const o = STRINGS[other(lang)];
  const back = token === undefined ? '' : `<p><a class="button" href="${esc(payHref(token, '', lang))}">${esc(t.backToNotice)}</a></p>`;
  const body = `<h1>${esc(t.problemTitle)}</h1>
<div class="box info" role="alert">${para(message[lang])}${para(t.problemHint)}</div>
${back}
<div lang="${o.htmlLang}" class="note"><p><strong>${esc(o.problemTitle)}</strong></p>${para(message[other(lang)])}</div>`;
  return page({ lang, title: t.problemTitle, body });
}
