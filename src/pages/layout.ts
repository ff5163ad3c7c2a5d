/**
 * The frame of every litigant page: one complete HTML document, no scripts, no external
 * assets. Inline <style> is allowed by helmet's default CSP (style-src 'unsafe-inline');
 * inline scripts are not, and none are needed.
 */
import { formatYuan } from '../fees/money';
import { FAVICON_DATA_URL } from './favicon';
import { STRINGS, type Lang } from './i18n';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Every interpolated string goes through here: payer names and case numbers can contain anything. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** "¥1,050.00": money is formatted by money.ts only; this adds the sign of the currency. */
export function yuanText(fen: number): string {
  return `¥${formatYuan(fen)}`;
}

/** A link under /pay/{token}; the token is a path segment, so it is encoded as one. */
export function payHref(token: string, suffix: '' | '/receipt' | '/return' | '/checkout', lang?: Lang): string {
  return `/pay/${encodeURIComponent(token)}${suffix}${lang ? `?lang=${lang}` : ''}`;
}

const CSS = `
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:1.0625rem/1.6 system-ui,-apple-system,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;color:#1a1a1a;background:#fff}
.wrap{max-width:40rem;margin:0 auto;padding:0 1rem}
header{border-bottom:1px solid #c8c8c8;padding:.75rem 0}
header .wrap{display:flex;justify-content:space-between;align-items:center;gap:1rem;flex-wrap:wrap}
.court{font-weight:600;margin:0}
a{color:#0b4f99;text-decoration:underline}
a:focus,button:focus,.button:focus{outline:3px solid #f0b400;outline-offset:2px}
.lang-switch{display:inline-block;padding:.5rem .75rem;min-height:44px;line-height:1.75}
main{padding:1rem 0 2rem}
h1{font-size:1.5rem;line-height:1.3;margin:.5rem 0 1rem}
h2{font-size:1.2rem;margin:1.75rem 0 .5rem}
dl{display:grid;grid-template-columns:minmax(6rem,auto) 1fr;gap:.35rem 1rem;margin:0}
dt{color:#3d3d3d}
dd{margin:0;overflow-wrap:anywhere}
.amount{font-variant-numeric:tabular-nums;white-space:nowrap}
.strong{font-weight:700}
.box{border:2px solid #0b4f99;border-radius:6px;padding:1rem;margin:1.25rem 0;background:#f2f7fd}
.box.ok{border-color:#1e6b32;background:#eef7f0}
.box.warn{border-color:#a4161a;background:#fdeeee}
.box.info{border-color:#595959;background:#f4f4f4}
.box p{margin:.25rem 0}
.box h2{margin-top:0}
button,.button{display:block;width:100%;min-height:52px;padding:.75rem 1rem;font:inherit;font-size:1.2rem;font-weight:700;text-align:center;
color:#fff;background:#0b4f99;border:0;border-radius:6px;cursor:pointer;text-decoration:none;margin-top:.75rem}
button:hover,.button:hover{background:#083b73}
.table-scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;margin:.25rem 0}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{border-bottom:1px solid #c8c8c8;padding:.5rem .4rem;text-align:left;vertical-align:top}
td.num,th.num{text-align:right}
tfoot th,tfoot td{font-weight:700;border-bottom:2px solid #1a1a1a}
.note{font-size:.95rem;color:#3d3d3d}
.ref{overflow-wrap:anywhere;font-variant-numeric:tabular-nums}
@media (max-width:36rem){
  table.lines,.lines caption,.lines tbody,.lines tfoot,.lines tr,.lines td,.lines tfoot th{display:block;width:auto}
  .lines thead{display:block;position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);clip-path:inset(50%);white-space:nowrap}
  .lines tbody tr{border:1px solid #c8c8c8;border-radius:6px;margin:.5rem 0;padding:.25rem .75rem}
  .lines td[data-label]{display:grid;grid-template-columns:minmax(5.5rem,40%) minmax(0,1fr);gap:.75rem;border:0;padding:.3rem 0;text-align:left;overflow-wrap:anywhere}
  .lines td[data-label]::before{content:attr(data-label);color:#3d3d3d}
  .lines tfoot tr{display:flex;justify-content:space-between;align-items:baseline;gap:.75rem;border-bottom:2px solid #1a1a1a}
  .lines tfoot th{flex:1 1 auto;min-width:0;border:0;padding:.5rem 0}
  .lines tfoot td{flex:0 0 auto;border:0;padding:.5rem 0}
}
.sandbox{background:#fff3cd;color:#4d3800;border-bottom:2px solid #8a6d00;padding:.5rem 0;font-weight:600}
.sandbox .wrap{text-align:center}
@media print{
  body{font-size:11pt;color:#000}
  header .lang-switch,.no-print,button,.button{display:none!important}
  a{color:#000;text-decoration:none}
  .box{border:1px solid #000;background:none}
  .sandbox{background:none;color:#000;border:1px solid #000}
  .table-scroll{overflow:visible}
}
`.replace(/\n/g, '');

export interface PageOptions {
  lang: Lang;
  title: string;
  body: string;
  /** The court shown above the page's heading; omitted on pages that know no invoice. */
  courtName?: string;
  /** Where the visible language link points; without one the page shows no switch. */
  switchHref?: string;
  sandbox?: boolean;
  refreshSeconds?: number;
}

export function page(o: PageOptions): string {
  const t = STRINGS[o.lang];
  const other: Lang = o.lang === 'zh' ? 'en' : 'zh';
  const switchLink = o.switchHref === undefined ? ''
    : `<a class="lang-switch" href="${esc(o.switchHref)}" lang="${STRINGS[other].htmlLang}" hreflang="${STRINGS[other].htmlLang}">${esc(STRINGS[other].switchLabel)}</a>`;
  const sandbox = o.sandbox ? `<div class="sandbox" role="note"><div class="wrap">${esc(t.sandbox)}</div></div>` : '';
  const refresh = o.refreshSeconds ? `<meta http-equiv="refresh" content="${Math.max(1, Math.trunc(o.refreshSeconds))}">` : '';
  return `<!DOCTYPE html>
<html lang="${t.htmlLang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="${FAVICON_DATA_URL}">
${refresh}<title>${esc(o.title)} — ${esc(o.courtName ?? t.serviceName)}</title>
<style>${CSS}</style>
</head>
<body>
${sandbox}<header><div class="wrap"><p class="court">${esc(o.courtName ?? t.serviceName)}</p>${switchLink}</div></header>
<main id="main"><div class="wrap">
${o.body}
</div></main>
</body>
</html>
`;
}
