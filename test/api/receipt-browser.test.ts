import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { aCase, anInvoice, aPayment, api, auth } from '../support/builders';
import { keyFor, testEnv } from '../support/env';
import { browserOn, chromiumAvailable, seriousViolations, type BrowserOnApp } from '../support/browser';
import { anEvent, anIntent, aRefund, deliver, expectStripeStubsUsed, formBody, stripeApi } from '../support/stripe';

/**
 * The receipt as a litigant's phone shows it: a real browser at 320 CSS px, the page served by the
 * app over loopback. Payments and refunds are made the way they happen: Stripe-shaped webhooks and
 * the refund API, with Stripe's refund answer stubbed.
 */
describe('the receipt in a real browser (320 px wide)', function () {
  this.timeout(60_000); // a browser start and an axe run on a shared 2-core machine
  let on: BrowserOnApp | null = null;
  let browser: Browser;
  let base: string;
  let cs: string, clerk: string, approver: string;

  before(async function () {
    if (!chromiumAvailable()) this.skip();
    cs = await keyFor('case_system');
    clerk = await keyFor('clerk', ['1411']);
    approver = await keyFor('approver', ['1411']);
    on = await browserOn(testEnv().app);
    ({ browser, base } = on);
  });
  after(async () => {
    await on?.close();
  });
  afterEach(expectStripeStubsUsed);

  /** A 2,300.00 fee paid with Alipay (the intent lists every type Checkout offered; the charge says which), then two refunds of 1,150.00 in all. */
  async function paidAndRefunded() {
    const inv = await anInvoice(cs, await aCase(cs), { claimAmount: 10_000_000, payer: { name: '北京某某科技有限公司（代理人：李四）', role: 'plaintiff', type: 'legal_person' } });
    const p = await aPayment(inv.id, { settle: false });
    const meta = { payment_id: p.public_id };
    const chargeId = `ch_${p.id}x`;
    await deliver(anEvent('charge.succeeded', { id: chargeId, object: 'charge', amount: p.amount, currency: 'cny', status: 'succeeded', paid: true, payment_intent: p.payment_intent_id, metadata: meta, payment_method: 'pm_1', payment_method_details: { type: 'alipay', alipay: { buyer_id: '2088000000000000', fingerprint: 'fp', transaction_id: '2026000000' } } })).expect(200);
    await deliver(anEvent('payment_intent.succeeded', anIntent({ id: p.payment_intent_id, status: 'succeeded', amount: p.amount, amount_received: p.amount, latest_charge: chargeId, payment_method: 'pm_1', payment_method_types: ['card', 'alipay', 'wechat_pay'], metadata: meta }))).expect(200);
    const refunds: string[] = [];
    for (const amount of [100_000, 15_000]) {
      const req = await api().post(`/v1/payments/${p.public_id}/refunds`).set(auth(clerk)).send({ amount, reasonCode: 'overpayment' });
      expect(req.status, req.text).to.equal(201);
      stripeApi().post('/v1/refunds').reply((_uri, body) => {
        const b = formBody(body);
        return [200, aRefund({ amount: Number(b.amount), status: 'succeeded', payment_intent: p.payment_intent_id, charge: chargeId, metadata: { refund_id: b['metadata[refund_id]'] } })];
      });
      const ok = await api().post(`/v1/refunds/${req.body.id}/approve`).set(auth(approver)).send({});
      expect(ok.body.status, ok.text).to.equal('succeeded');
      refunds.push(req.body.id);
    }
    return { token: inv.paymentUrl.split('/').pop()!, payment: p, refunds };
  }

  for (const lang of ['zh', 'en'] as const) {
    it(`when a phone 320 px wide opens the receipt after two refunds (${lang}), then nothing scrolls sideways, both refunds are visible with the net, and axe finds nothing serious`, async () => {
      const { token, payment, refunds } = await paidAndRefunded();
      expect((await testEnv().knex('payments').where({ id: payment.id }).first()).payment_method_type).to.equal('alipay');
      const context = await browser.newContext({ viewport: { width: 320, height: 640 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
      try {
        const page = await context.newPage();
        const res = await page.goto(`${base}/pay/${token}/receipt?lang=${lang}`);
        expect(res!.status()).to.equal(200);
        const widths = await page.evaluate(() => ({ scroll: document.scrollingElement!.scrollWidth, client: document.documentElement.clientWidth }));
        expect(widths.client).to.equal(320);
        expect(widths.scroll, 'no sideways scrolling at 320 px').to.be.at.most(320);
        for (const id of [payment.public_id, ...refunds]) {
          const cell = page.locator('td', { hasText: id });
          expect(await cell.isVisible(), `${id} visible`).to.equal(true);
          const box = (await cell.boundingBox())!;
          expect(box.x + box.width, `${id} inside the screen`).to.be.at.most(320);
        }
        const body = await page.locator('main').innerText();
        expect(body).to.include(lang === 'zh' ? '支付宝' : 'Alipay');
        expect(body).to.match(lang === 'zh' ? /实缴合计\s*¥1,150\.00/ : /Net paid\s*¥1,150\.00/);
        expect(body).to.match(lang === 'zh' ? /已退合计\s*¥1,150\.00/ : /Total refunded\s*¥1,150\.00/);
        expect(await seriousViolations(page)).to.deep.equal([]);
      } finally {
        await context.close();
      }
    });
  }
});
