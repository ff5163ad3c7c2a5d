/**
 * What someone opening the service's address finds: a page saying what this is, with the ways in
 * (the API reference, the staff console, the sandbox processor when it runs), or the same as a
 * small JSON index for a client that asks for JSON. And the icon every browser asks for.
 */
import type { RouteDef } from '../http/route';
import { json, ref } from '../http/schemas';
import { FAVICON_SVG } from './favicon';
import { pickLang, type Lang } from './i18n';
import { esc, page } from './layout';

const STRINGS: Record<Lang, { title: string; intro: string; docs: string; docsText: string; console: string; consoleText: string; sandbox: string; sandboxText: string; health: string; switchTo: string }> = {
  zh: {
    title: 'courtpay 诉讼费缴纳与退费服务',
    intro: '本服务供各级法院的案件管理系统开具诉讼费缴费通知、当事人在线缴费、法院工作人员办理退费并与支付机构对账。当事人请使用缴费通知书上的链接缴费。',
    docs: 'API 文档',
    docsText: '每个接口的说明（OpenAPI：/openapi.json）。',
    console: '工作人员控制台',
    consoleText: '法院工作人员登录。',
    sandbox: '沙箱支付',
    sandboxText: '本服务正在使用本地沙箱代替 Stripe，不会产生真实扣款：待支付的收银台页面都列在这里。',
    health: '运行状态',
    switchTo: 'English',
  },
  en: {
    title: 'courtpay: court-fee payments and refunds',
    intro: "Courts' case-management systems issue fee invoices here; litigants pay them online through the link on their notice; court staff handle refunds and reconcile with the payment processor.",
    docs: 'API reference',
    docsText: 'Every endpoint described (OpenAPI: /openapi.json).',
    console: 'Staff console',
    consoleText: 'Sign-in for court staff.',
    sandbox: 'Sandbox processor',
    sandboxText: 'This service runs a local sandbox in place of Stripe, and no real money moves: its open checkout pages are listed there.',
    health: 'Health',
    switchTo: '中文',
  },
};

interface Link {
  rel: 'docs' | 'openapi' | 'console' | 'sandbox' | 'health' | 'ready';
  href: string;
}

function links(sandbox: boolean): Link[] {
  return [
    { rel: 'docs', href: '/docs' },
    { rel: 'openapi', href: '/openapi.json' },
    { rel: 'console', href: '/console' },
    ...(sandbox ? [{ rel: 'sandbox' as const, href: '/sandbox' }] : []),
    { rel: 'health', href: '/healthz' },
    { rel: 'ready', href: '/readyz' },
  ];
}

function landingPage(lang: Lang, sandbox: boolean): string {
  const t = STRINGS[lang];
  const item = (href: string, label: string, text: string) => `<li><a href="${esc(href)}">${esc(label)}</a> — ${esc(text)}</li>`;
  const body = `<h1>${esc(t.title)}</h1>
<p>${esc(t.intro)}</p>
<ul>
${item('/docs', t.docs, t.docsText)}
${item('/console', t.console, t.consoleText)}
${sandbox ? item('/sandbox', t.sandbox, t.sandboxText) : ''}
</ul>
<p class="note">${esc(t.health)}: <a href="/healthz">/healthz</a> · <a href="/readyz">/readyz</a></p>`;
  return page({ lang, title: t.title, body, switchHref: lang === 'zh' ? '/?lang=en' : '/?lang=zh', sandbox });
}

/** GET / and GET /favicon.ico, public, in the service's part of the route list. */
export function landingRoutes(sandbox: boolean): RouteDef[] {
  return [
    {
      method: 'get', path: '/', summary: 'What this service is, linking the API reference, the staff console and (when it runs) the sandbox; JSON to Accept: application/json', tag: 'service', access: 'public',
      produces: 'text/html, application/json', responses: { 200: json('HTML page (zh, or ?lang=en), or to Accept: application/json { service, description, links: [{ rel, href }] }', ref('Landing')) },
      async read({ req, res }) {
        res.vary('Accept');
        if (req.accepts(['html', 'json']) === 'json') {
          return { status: 200, body: { service: 'courtpay', description: STRINGS.en.intro, links: links(sandbox) } };
        }
        const lang = pickLang(req.query, undefined);
        return { status: 200, body: landingPage(lang, sandbox), headers: { 'content-type': 'text/html; charset=utf-8' } };
      },
    },
    {
      method: 'get', path: '/favicon.ico', summary: "The service's icon (SVG)", tag: 'service', access: 'public', produces: 'image/svg+xml', responses: { 200: 'SVG image' },
      async read() {
        return { status: 200, body: FAVICON_SVG, headers: { 'content-type': 'image/svg+xml', 'cache-control': 'public, max-age=86400' } };
      },
    },
  ];
}
