import express, { type Request, type Response } from 'express';
import { formatYuan } from '../fees/money';
import { logger } from '../shared/logger';
import { StripeApiError } from './errors';
import { PAYMENT_METHOD_TYPES, type LineItem, type PaymentMethodType } from './objects';
import { decline, getSession, pay } from './payments';
import type { Ctx } from './runtime';
import { store, type StripeObject } from './store';

/** The sandbox's hosted checkout page (mounted at /sandbox): no JavaScript, plain form posts. */
const LABELS: Record<PaymentMethodType, string> = { card: '银行卡支付 · Pay by card', alipay: '支付宝 · Alipay', wechat_pay: '微信支付 · WeChat Pay' };

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function origin(url: unknown): string {
  try {
    return typeof url === 'string' ? new URL(url).origin : '';
  } catch {
    return '';
  }
}

function page(res: Response, status: number, title: string, body: string, s?: StripeObject): void {
  const targets = s ? [origin(s.success_url), origin(s.cancel_url)].filter(Boolean).join(' ') : '';
  res.status(status)
    .set('Content-Security-Policy', `default-src 'none'; style-src 'unsafe-inline'; form-action 'self' ${targets}; base-uri 'none'; frame-ancestors 'none'`)
    .set('Cache-Control', 'no-store')
    .set('X-Robots-Tag', 'noindex')
    .type('html')
    .send(`<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>
body{font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f4f5f7;color:#1a1a1a}
main{max-width:28rem;margin:0 auto;padding:1rem}.banner{background:#b00020;color:#fff;padding:.75rem 1rem;text-align:center;font-weight:700}
.card{background:#fff;border-radius:.75rem;padding:1.25rem;margin-top:1rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
.amount{font-size:2rem;font-weight:700;margin:.5rem 0}.muted{color:#666;font-size:.9rem}ul{padding-left:1.2rem}
button{display:block;width:100%;font-size:1.05rem;padding:.9rem;margin:.6rem 0;border:0;border-radius:.5rem;background:#0a58ca;color:#fff}
button.decline{background:#fff;color:#b00020;border:1px solid #b00020}.notice{font-weight:600}
</style></head><body><div class="banner">沙箱 SANDBOX — 不产生真实扣款 · no real money</div><main>${body}</main></body></html>`);
}

function checkoutPage(res: Response, base: string, s: StripeObject, message?: string, status = 200): void {
  const action = `${base}/checkout/${encodeURIComponent(s.id)}`;
  const items = ((s._sandbox?.line_items ?? []) as LineItem[]).map((i) => `<li>${esc(i.name)}${i.quantity > 1 ? ` × ${i.quantity}` : ''}</li>`).join('');
  const expires = new Date((s.expires_at as number) * 1000).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false });
  let actions: string;
  if (s.status === 'complete') actions = '<p class="notice">已支付 · This payment is complete.</p>';
  else if (s.status === 'expired') actions = '<p class="notice">已过期 · This checkout session has expired.</p>';
  else {
    const methods = PAYMENT_METHOD_TYPES.filter((m) => (s.payment_method_types as string[]).includes(m));
    actions = `<form method="post" action="${esc(action)}/pay">${methods.map((m) => `<button name="method" value="${m}">${LABELS[m]}</button>`).join('')}</form>
<form method="post" action="${esc(action)}/decline"><button class="decline">模拟支付失败 · Decline</button></form>
<p class="muted">有效期至 Expires ${esc(expires)} (北京时间 Beijing time)</p>`;
  }
  page(res, status, '缴费 · Checkout (sandbox)', `<div class="card"><div class="muted">应缴金额 · Amount due</div>
<div class="amount">¥${formatYuan(s.amount_total as number)} <span class="muted">${esc(String(s.currency).toUpperCase())}</span></div>
<ul>${items}</ul>${message ? `<p class="notice">${esc(message)}</p>` : ''}${actions}</div>`, s);
}

export function pagesRouter(ctx: Ctx): express.Router {
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '8kb' });

  const withSession = (fn: (req: Request, res: Response, s: StripeObject) => Promise<void>) => async (req: Request, res: Response) => {
    let s: StripeObject;
    try {
      s = await getSession(ctx, String(req.params.id));
    } catch (e) {
      if (e instanceof StripeApiError && e.status === 404) return page(res, 404, 'Not found', '<div class="card"><p class="notice">找不到该支付 · No such checkout session.</p></div>');
      throw e;
    }
    try {
      await fn(req, res, s);
    } catch (e) {
      if (!(e instanceof StripeApiError) || e.status >= 500) throw e;
      logger.info('sandbox checkout action refused', { sessionId: s.id, error: e.message });
      checkoutPage(res, req.baseUrl, await getSession(ctx, s.id), e.message, 409);
    }
  };

  // The landing page links here: the checkout sessions still open, newest first.
  router.get('/', async (req, res) => {
    const open = await store.list(ctx.knex, { type: 'checkout.session', equals: { status: 'open' }, limit: 20 });
    const rows = open.data.map((s) => `<li><a href="${esc(`${req.baseUrl}/checkout/${encodeURIComponent(s.id)}`)}">¥${formatYuan(s.amount_total as number)}</a> <span class="muted">${esc(s.id)}</span></li>`).join('');
    page(res, 200, '沙箱 · Sandbox', `<div class="card"><p class="notice">待支付 · Open checkouts</p>${rows ? `<ul>${rows}</ul>` : '<p class="muted">暂无。开具缴费通知后，点击缴费链接上的按钮即可在此支付。 · None yet: issue an invoice and press the pay button on its payment link.</p>'}</div>`);
  });
  router.get('/checkout/:id', withSession(async (req, res, s) => checkoutPage(res, req.baseUrl, s)));
  router.post('/checkout/:id/pay', form, withSession(async (req, res, s) => {
    const method = String((req.body as Record<string, unknown> | undefined)?.method ?? 'card') as PaymentMethodType;
    const done = await pay(ctx, s.id, method);
    res.redirect(303, String(done.success_url).replaceAll('{CHECKOUT_SESSION_ID}', done.id));
  }));
  router.post('/checkout/:id/decline', form, withSession(async (req, res, s) => {
    await decline(ctx, s.id);
    res.redirect(303, s.cancel_url ? String(s.cancel_url).replaceAll('{CHECKOUT_SESSION_ID}', s.id) : `${req.baseUrl}/checkout/${encodeURIComponent(s.id)}`);
  }));
  return router;
}
