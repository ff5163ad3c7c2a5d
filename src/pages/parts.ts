/** The pieces the litigant pages share: what the notice says about the case and its money. */
import { formatYuan } from '../fees/money';
import { STRINGS, label, type Lang } from './i18n';
import { esc, yuanText } from './layout';

export interface NoticeView {
  /** The payment token (path segment); URLs are /pay/${token}... */
  token: string;
  lang: Lang;
  courtName: string;
  caseNumber: string;
  payer: { name: string; role: string };
  /** One of FeeKind; an unknown kind is shown as it is. */
  feeKind: string;
  /** Band lines before any factor; amount in fen, possibly fractional (display only). */
  breakdown: { label: string; rate: string; amount: number; from: number; to: number | null }[];
  statutoryAmount: number;
  amountDue: number;
  paidAmount: number;
  outstanding: number;
  /** What the pay button asks for: the outstanding amount, or the largest part one charge can be. */
  nextPart: number;
  dueDate: string;
  overdue: boolean;
  status: 'unpaid' | 'partially_paid' | 'paid' | 'overpaid' | 'partially_refunded' | 'refunded' | 'cancelled';
  remissions: { kind: 'deferral' | 'reduction' | 'exemption'; decisionRef: string }[];
  /** A party's share of a fee the judgment allocated to it (an invoice issued by the outcome), in percent. */
  sharePercent?: number;
  /** A payment is under way at the processor: no pay button. */
  processing: boolean;
  /** The sandbox processor: a "test mode" banner. */
  sandbox: boolean;
}

/** Court, case number, payer and fee, as a description list. */
export function caseDetails(v: NoticeView): string {
  const t = STRINGS[v.lang];
  return `<dl>
<dt>${esc(t.court)}</dt><dd>${esc(v.courtName)}</dd>
<dt>${esc(t.caseNumber)}</dt><dd>${esc(v.caseNumber)}</dd>
<dt>${esc(t.payer)}</dt><dd>${esc(v.payer.name)}${t.parens(esc(label(v.lang, 'roles', v.payer.role)))}</dd>
<dt>${esc(t.feeKind)}</dt><dd>${esc(label(v.lang, 'feeKinds', v.feeKind))}</dd>
</dl>`;
}

/** Line amounts may be fractional fen; shown rounded to the fen, marked as approximate. */
function lineAmount(fen: number): string {
  if (!Number.isFinite(fen)) return '—';
  const rounded = Math.round(fen);
  return `${rounded === fen ? '' : '≈'}${yuanText(rounded)}`;
}

function bandText(lang: Lang, line: NoticeView['breakdown'][number]): string {
  const t = STRINGS[lang];
  if (line.rate === 'cap') return t.capLine;
  if (line.to === null && line.rate === 'flat') return t.perCase;
  if (line.to === null) return t.bandOver(formatYuan(line.from));
  return t.bandFromTo(formatYuan(line.from), formatYuan(line.to));
}

/** The statutory computation: each band, then the statutory fee it comes to. */
export function breakdownTable(v: NoticeView): string {
  if (v.breakdown.length === 0) return '';
  const t = STRINGS[v.lang];
  const rows = v.breakdown.map((line) => `<tr><td>${esc(bandText(v.lang, line))}</td>`
    + `<td>${esc(line.rate === 'flat' ? t.flat : line.rate === 'cap' ? '—' : line.rate)}</td>`
    + `<td class="num amount">${esc(lineAmount(line.amount))}</td></tr>`).join('\n');
  const exact = v.breakdown.every((l) => Number.isInteger(l.amount))
    && v.breakdown.reduce((s, l) => s + l.amount, 0) === v.statutoryAmount;
  return `<section aria-labelledby="breakdown-h">
<h2 id="breakdown-h">${esc(t.breakdown)}</h2>
<div class="table-scroll"><table>
<thead><tr><th scope="col">${esc(t.band)}</th><th scope="col">${esc(t.rate)}</th><th scope="col" class="num">${esc(t.amount)}</th></tr></thead>
<tbody>
${rows}
</tbody>
<tfoot><tr><th scope="row" colspan="2">${esc(t.statutoryAmount)}</th><td class="num amount">${esc(yuanText(v.statutoryAmount))}</td></tr></tfoot>
</table></div>
${exact ? '' : `<p class="note">${esc(t.breakdownNote)}</p>`}
</section>`;
}

/** Why the amount due differs from the statutory fee: the recorded decisions, the judgment's share, or the statutory halving. */
function dueNote(v: NoticeView): string {
  const t = STRINGS[v.lang];
  const decisions = v.remissions.filter((r) => r.kind !== 'deferral');
  if (decisions.length > 0) {
    return decisions.map((r) => `${label(v.lang, 'remissionKinds', r.kind)}${t.comma}${t.decisionRef(r.decisionRef)}`).join(t.listSep);
  }
  if (v.sharePercent !== undefined) return t.shareNote(v.sharePercent);
  return Math.round(v.statutoryAmount / 2) === v.amountDue ? t.halvedNote : '';
}

/** Statutory fee, amount due (when different, with why), paid, outstanding and the deadline. */
export function amountsList(v: NoticeView, opts: { withDueDate: boolean }): string {
  const t = STRINGS[v.lang];
  const note = v.amountDue !== v.statutoryAmount ? dueNote(v) : '';
  const rows = [
    `<dt>${esc(t.statutoryAmount)}</dt><dd class="amount">${esc(yuanText(v.statutoryAmount))}</dd>`,
    v.amountDue !== v.statutoryAmount
      ? `<dt>${esc(t.amountDue)}</dt><dd><span class="amount">${esc(yuanText(v.amountDue))}</span>${note ? ` <span class="note">${t.parens(esc(note))}</span>` : ''}</dd>`
      : '',
    `<dt>${esc(t.paidAmount)}</dt><dd class="amount">${esc(yuanText(v.paidAmount))}</dd>`,
    v.status === 'cancelled' ? '' : `<dt>${esc(t.outstanding)}</dt><dd class="amount strong">${esc(yuanText(v.outstanding))}</dd>`,
    opts.withDueDate && v.status !== 'cancelled'
      ? `<dt>${esc(t.dueDate)}</dt><dd>${esc(v.dueDate)}${v.overdue ? ` <strong>${esc(t.overdue)}</strong>` : ''}</dd>`
      : '',
  ].filter(Boolean);
  return `<dl>\n${rows.join('\n')}\n</dl>`;
}

/** Every recorded deferral, reduction or exemption, with its decision. */
export function remissionsList(v: NoticeView): string {
  if (v.remissions.length === 0) return '';
  const t = STRINGS[v.lang];
  const items = v.remissions.map((r) => `<li>${esc(label(v.lang, 'remissionKinds', r.kind))}${t.comma}${esc(t.decisionRef(r.decisionRef))}</li>`);
  return `<section aria-labelledby="remissions-h">\n<h2 id="remissions-h">${esc(t.remissions)}</h2>\n<ul>\n${items.join('\n')}\n</ul>\n</section>`;
}
