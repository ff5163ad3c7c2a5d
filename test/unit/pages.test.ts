import { expect } from 'chai';
import { MAX_CHARGE_FEN } from '../../src/payments/limits';
import {
  pickLang, renderNotFound, renderNotice, renderProblem, renderReceipt, renderReturn,
  type NoticeView, type ReceiptLine,
} from '../../src/pages/views';

const TOKEN = 'tok_AbC123';

function aNotice(over: Partial<NoticeView> = {}): NoticeView {
  const outstanding = over.outstanding ?? 105_000;
  return {
    token: TOKEN,
    lang: 'zh',
    courtName: '太原市小店区人民法院',
    caseNumber: '(2026)晋0105民初1234号',
    payer: { name: '张三', role: 'plaintiff' },
    feeKind: 'acceptance_property',
    breakdown: [
      { label: 'Art. 13(一): 50.00 yuan for up to 10,000.00 yuan', rate: 'flat', amount: 5_000, from: 0, to: 1_000_000 },
      { label: 'Art. 13(一): 2.5% of the part over 10,000.00 yuan', rate: '2.5%', amount: 100_000, from: 1_000_000, to: 5_000_000 },
    ],
    statutoryAmount: 105_000,
    amountDue: 105_000,
    paidAmount: 0,
    outstanding,
    nextPart: Math.min(outstanding, MAX_CHARGE_FEN),
    dueDate: '2026-03-12',
    overdue: false,
    status: 'unpaid',
    remissions: [],
    processing: false,
    sandbox: false,
    ...over,
  };
}

const payment = (over: Partial<ReceiptLine> = {}): ReceiptLine =>
  ({ id: 'pay_1', amount: 105_000, at: '2026-03-05T06:07:00Z', method: 'alipay', status: 'succeeded', ...over });

const FORM_ACTION = `action="/pay/${TOKEN}/checkout"`;

describe('pages: the fee notice', () => {
  it('when more is owed than one charge can be, then the button asks for the largest part and says the rest follows from the same link', () => {
    const owed = 250_000_000; // 2,500,000.00 yuan: the fee on a claim of about 500 million
    const zh = renderNotice(aNotice({ amountDue: owed, statutoryAmount: owed, outstanding: owed, nextPart: MAX_CHARGE_FEN }));
    expect(zh).to.include('立即缴费 ¥999,999.99').and.to.include('单笔线上支付最多 ¥999,999.99').and.to.include('余下的 ¥1,500,000.01');
    const en = renderNotice(aNotice({ lang: 'en', amountDue: owed, statutoryAmount: owed, outstanding: owed, nextPart: MAX_CHARGE_FEN }));
    expect(en).to.include('Pay ¥999,999.99 now').and.to.include('pay the remaining ¥1,500,000.01 from this same link');
    expect(renderNotice(aNotice())).not.to.include('单笔线上支付最多');
  });

  it('when an invoice is unpaid, then the notice shows the case, the amounts in yuan and one pay form', () => {
    const html = renderNotice(aNotice());
    expect(html).to.match(/^<!DOCTYPE html>/);
    expect(html).to.include('<html lang="zh-CN">');
    expect(html).to.include('<main');
    expect(html).to.include('太原市小店区人民法院');
    expect(html).to.include('(2026)晋0105民初1234号');
    expect(html).to.include('张三（原告）');
    expect(html).to.include('案件受理费（财产案件）');
    expect(html).to.include('1,050.00');
    expect(html).to.include('2.5%');
    expect(html).to.include('2026-03-12');
    expect(html.match(/<form /g)).to.have.length(1);
    expect(html).to.include(`<form method="post" ${FORM_ACTION}>`);
    expect(html).to.include('<input type="hidden" name="lang" value="zh">');
    expect(html).to.include('立即缴费 ¥1,050.00');
    expect(html).not.to.include('<script');
  });

  it('when partly paid, then the button asks for the outstanding amount and the receipt is linked', () => {
    const html = renderNotice(aNotice({ status: 'partially_paid', paidAmount: 5_000, outstanding: 100_000 }));
    expect(html).to.include('立即缴费 ¥1,000.00');
    expect(html).to.include(`href="/pay/${TOKEN}/receipt?lang=zh"`);
  });

  it('when the language is English, then the page says so and links back to Chinese', () => {
    const html = renderNotice(aNotice({ lang: 'en' }));
    expect(html).to.include('<html lang="en">');
    expect(html).to.include('Acceptance fee (property case)');
    expect(html).to.include('张三 (Plaintiff)');
    expect(html).to.include('Pay ¥1,050.00 now');
    expect(html).to.include('<input type="hidden" name="lang" value="en">');
    expect(html).to.include(`href="/pay/${TOKEN}?lang=zh"`);
  });

  it('when the language is Chinese, then a visible link switches to English', () => {
    expect(renderNotice(aNotice())).to.match(new RegExp(`<a [^>]*href="/pay/${TOKEN}\\?lang=en"[^>]*>English</a>`));
  });

  it('when paid in full, then there is no form, it says so and links the receipt', () => {
    const html = renderNotice(aNotice({ status: 'paid', paidAmount: 105_000, outstanding: 0 }));
    expect(html).not.to.include('<form');
    expect(html).to.include('已缴清');
    expect(html).to.include(`href="/pay/${TOKEN}/receipt?lang=zh"`);
    expect(renderNotice(aNotice({ lang: 'en', status: 'paid', paidAmount: 105_000, outstanding: 0 }))).to.include('Paid in full');
  });

  it('when overpaid, then the notice says the difference will be refunded', () => {
    const html = renderNotice(aNotice({ status: 'overpaid', paidAmount: 110_000, outstanding: 0 }));
    expect(html).not.to.include('<form');
    expect(html).to.include('多缴了 ¥50.00');
  });

  it('when cancelled, then there is no form and it says the court withdrew the notice and nothing is to be paid', () => {
    const html = renderNotice(aNotice({ status: 'cancelled', outstanding: 0 }));
    expect(html).not.to.include('<form');
    expect(html).to.include('法院已撤回本缴费通知书');
    expect(html).to.include('无需缴纳');
    expect(renderNotice(aNotice({ lang: 'en', status: 'cancelled', outstanding: 0 }))).to.include('nothing is to be paid');
  });

  it('when even a cancelled notice still shows an outstanding amount, then no form is offered', () => {
    expect(renderNotice(aNotice({ status: 'cancelled' }))).not.to.include('<form');
  });

  it('when a payment is being processed, then there is no form and the page says it is processing', () => {
    const html = renderNotice(aNotice({ processing: true }));
    expect(html).not.to.include('<form');
    expect(html).to.include('您的付款正在处理中');
    expect(renderNotice(aNotice({ lang: 'en', processing: true }))).to.include('Your payment is being processed');
  });

  it('when refunded, then there is no form, it says so and links the receipt', () => {
    for (const status of ['refunded', 'partially_refunded'] as const) {
      const html = renderNotice(aNotice({ status, paidAmount: 105_000, outstanding: 0 }));
      expect(html).not.to.include('<form');
      expect(html).to.include('退');
      expect(html).to.include(`href="/pay/${TOKEN}/receipt?lang=zh"`);
    }
  });

  it('when overdue, then it says 已逾期 and that unpaid fees are treated as withdrawal', () => {
    const html = renderNotice(aNotice({ overdue: true, dueDate: '2026-01-05' }));
    expect(html).to.include('已逾期');
    expect(html).to.include('按撤诉处理');
    expect(html).to.include(FORM_ACTION);
    expect(renderNotice(aNotice({ lang: 'en', overdue: true }))).to.match(/Overdue[\s\S]*treated as withdrawal/);
  });

  it('when not overdue, then no overdue wording appears', () => {
    const html = renderNotice(aNotice());
    expect(html).not.to.include('已逾期');
    expect(html).not.to.include('按撤诉处理');
  });

  it('when the fee was reduced by a decision, then both the statutory and the due amount show, with the decision', () => {
    const html = renderNotice(aNotice({
      amountDue: 52_500, outstanding: 52_500,
      remissions: [{ kind: 'reduction', decisionRef: '(2026)晋0105民初1234号之一' }],
    }));
    expect(html).to.match(/法定收费金额<\/dt><dd class="amount">¥1,050\.00</);
    expect(html).to.match(/应缴金额<\/dt><dd><span class="amount">¥525\.00/);
    expect(html).to.include('减交');
    expect(html).to.include('(2026)晋0105民初1234号之一');
    expect(html).to.include('立即缴费 ¥525.00');
  });

  it('when the due amount equals the statutory amount, then no separate amount due line appears', () => {
    expect(renderNotice(aNotice())).not.to.include('应缴金额');
  });

  it('when the fee is exempted, then nothing is to be paid and there is no form', () => {
    const html = renderNotice(aNotice({
      amountDue: 0, outstanding: 0, status: 'paid', remissions: [{ kind: 'exemption', decisionRef: 'D-1' }],
    }));
    expect(html).not.to.include('<form');
    expect(html).to.include('无需缴费');
    expect(html).to.include('免交');
  });

  it('when a breakdown line has fractional fen, then it is shown rounded and the total is the statutory amount', () => {
    const html = renderNotice(aNotice({
      breakdown: [{ label: 'x', rate: '2.5%', amount: 2.5, from: 1_000_000, to: 1_000_100 }], statutoryAmount: 5_003, amountDue: 5_003, outstanding: 5_003,
    }));
    expect(html).to.include('≈¥0.03');
    expect(html).to.include('¥50.03');
  });

  it('when the fee kind is unknown, then it is shown as it is', () => {
    expect(renderNotice(aNotice({ feeKind: 'mystery_fee' }))).to.include('mystery_fee');
  });

  it('when names and case numbers contain markup, then they are escaped', () => {
    const html = renderNotice(aNotice({
      payer: { name: '<script>alert(1)</script>', role: '"><b>' },
      caseNumber: '(2026)晋0105民初1234号 & "x"',
      courtName: 'Court <i>',
    }));
    expect(html).not.to.include('<script');
    expect(html).to.include('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).to.include('(2026)晋0105民初1234号 &amp; &quot;x&quot;');
    expect(html).not.to.include('"><b>');
    expect(html).not.to.include('<i>');
  });

  it('when the token holds odd characters, then it is encoded in every link', () => {
    const html = renderNotice(aNotice({ token: 'a"b/c' }));
    expect(html).to.include('action="/pay/a%22b%2Fc/checkout"');
    expect(html).not.to.include('a"b');
  });

  it('when in the sandbox, then a test-mode banner shows', () => {
    expect(renderNotice(aNotice({ sandbox: true }))).to.include('测试模式');
    expect(renderNotice(aNotice({ sandbox: false }))).not.to.include('测试模式');
  });
});

describe('pages: the return page', () => {
  it('when paid, then it thanks the payer and links the receipt', () => {
    const html = renderReturn({ ...aNotice({ status: 'paid', paidAmount: 105_000, outstanding: 0 }), outcome: 'paid' });
    expect(html).to.include('缴费成功');
    expect(html).to.include('¥1,050.00');
    expect(html).to.include(`href="/pay/${TOKEN}/receipt?lang=zh"`);
    expect(html).not.to.include('http-equiv="refresh"');
  });

  it('when processing, then it says the payment is being confirmed and refreshes itself', () => {
    const html = renderReturn({ ...aNotice({ processing: true }), outcome: 'processing' });
    expect(html).to.include('正在确认您的付款');
    expect(html).to.include('<meta http-equiv="refresh" content="5">');
    expect(html).to.include(`<a href="/pay/${TOKEN}/return?lang=zh">重新查询付款结果</a>`);
    expect(html).not.to.include('<form');
  });

  it('when not completed, then it says nothing was charged and offers the notice to try again', () => {
    const html = renderReturn({ ...aNotice({ lang: 'en' }), outcome: 'not_completed' });
    expect(html).to.include('Payment not completed');
    expect(html).to.include('nothing was charged');
    expect(html).to.match(new RegExp(`<a class="button" href="/pay/${TOKEN}\\?lang=en">`));
    expect(html).to.include(`href="/pay/${TOKEN}/return?lang=zh"`);
  });
});

const RECEIPT = { reference: 'inv_AbC123-02', issuedAt: '2026-04-02T01:05:00Z' };

describe('pages: the receipt', () => {
  it('when payments and refunds settled, then it lists each with Beijing time, method and totals, and every refund with its state', () => {
    const html = renderReceipt({
      ...aNotice({ status: 'partially_refunded', paidAmount: 105_000, outstanding: 0 }),
      ...RECEIPT,
      payments: [
        payment({ id: 'pay_1', amount: 5_000, at: '2026-03-05T06:07:00Z', method: 'alipay' }),
        payment({ id: 'pay_2', amount: 100_000, at: '2026-03-06T16:30:00Z', method: 'card' }),
        payment({ id: 'pay_failed', amount: 100_000, status: 'failed' }),
      ],
      refunds: [
        payment({ id: 'rf_1', amount: 52_500, at: '2026-04-01T02:00:00+08:00', method: null }),
        payment({ id: 'rf_rejected', amount: 1_000, status: 'rejected' }),
      ],
    });
    expect(html).to.include('网上缴费回单');
    expect(html).to.match(/回单号<\/dt><dd class="ref">inv_AbC123-02</);
    expect(html).to.match(/出具时间（北京时间）<\/dt><dd>2026-04-02 09:05</);
    expect(html).to.include('(2026)晋0105民初1234号');
    expect(html).to.include('张三');
    expect(html).to.include('pay_1');
    expect(html).to.include('2026-03-05 14:07');
    expect(html).to.include('2026-03-07 00:30');
    expect(html).to.include('支付宝');
    expect(html).to.include('银行卡');
    expect(html).not.to.include('pay_failed');
    expect(html).to.include('rf_1');
    expect(html).to.include('2026-04-01 02:00');
    expect(html).to.match(/rf_rejected<\/td>.*不予退费/);
    expect(html).to.match(/已缴合计<\/th><td class="num amount">¥1,050\.00/);
    expect(html).to.match(/已退合计<\/th><td class="num amount">¥525\.00/);
    expect(html).to.match(/实缴合计<\/dt><dd class="amount strong">¥525\.00/);
    expect(html).to.include('@media print');
    expect(html).to.include('打印');
    expect(html).not.to.include('<script');
  });

  it('when nothing is settled yet, then it says so in English', () => {
    const html = renderReceipt({ ...aNotice({ lang: 'en' }), ...RECEIPT, payments: [], refunds: [] });
    expect(html).to.include('Receipt reference').and.include('not an official receipt number');
    expect(html).to.include('No completed payments yet.');
    expect(html).to.include('use your browser&#39;s Print');
    expect(html).to.include(`href="/pay/${TOKEN}/receipt?lang=zh"`);
  });
});

describe('pages: not found and problems', () => {
  it('when the link is unknown, then the page says it is not valid, in either language', () => {
    expect(renderNotFound('zh')).to.include('此缴费链接无效');
    expect(renderNotFound('zh')).to.include('href="?lang=en"');
    const en = renderNotFound('en');
    expect(en).to.include('<html lang="en">');
    expect(en).to.include('This payment link is not valid');
    expect(en).to.include('contact the court');
  });

  it('when something went wrong, then the page shows the friendly message escaped, in both languages', () => {
    const html = renderProblem('zh', { zh: '支付服务暂时不可用，请几分钟后再试。', en: 'Payments are unavailable <now>; try again in a few minutes.' }, TOKEN);
    expect(html).to.include('<html lang="zh-CN">');
    expect(html).to.include('支付服务暂时不可用');
    expect(html).to.include('unavailable &lt;now&gt;');
    expect(html).to.include(`href="/pay/${TOKEN}?lang=zh"`);
    expect(html).not.to.match(/at \w+ \(/);
  });
});

describe('pages: pickLang', () => {
  // Chinese unless chosen: ?lang= is a choice; without one, the lang cookie (a choice made earlier); Accept-Language never.
  const cases: [query: unknown, cookie: string | undefined, expected: 'zh' | 'en'][] = [
    [{ lang: 'en' }, 'lang=zh', 'en'],
    [{ lang: 'zh' }, 'lang=en', 'zh'],
    [{ lang: 'EN' }, undefined, 'en'],
    [{ lang: ['en', 'zh'] }, undefined, 'en'],
    [{ lang: 'fr' }, 'lang=en', 'en'],
    [{}, 'theme=dark; lang=en', 'en'],
    [{}, 'lang=fr', 'zh'],
    [{}, 'xlang=en', 'zh'],
    [{}, undefined, 'zh'],
    [undefined, '', 'zh'],
    ['en', undefined, 'en'],
  ];
  for (const [query, cookie, expected] of cases) {
    it(`when the query is ${JSON.stringify(query)} and the cookie header is ${JSON.stringify(cookie)}, then it is ${expected}`, () => {
      expect(pickLang(query, cookie)).to.equal(expected);
    });
  }
});
