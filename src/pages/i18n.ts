/** Every word a litigant reads, in both languages: Chinese by default, English on request. */
export type Lang = 'zh' | 'en';

const zh = {
  htmlLang: 'zh-CN',
  switchLabel: '中文',
  serviceName: '诉讼费网上缴纳',
  parens: (s: string) => `（${s}）`, listSep: '；', comma: '，', colon: '：',
  sandbox: '测试模式：不会产生真实扣款',
  noticeTitle: '诉讼费缴费通知书',
  returnTitle: '缴费结果',
  receiptTitle: '网上缴费回单',
  notFoundTitle: '缴费链接无效',
  problemTitle: '暂时无法完成操作',
  court: '法院', caseNumber: '案号', payer: '缴费人', feeKind: '费用类型', status: '状态',
  breakdown: '计算明细', band: '计费区间', rate: '费率', amount: '金额',
  perCase: '按件收取', flat: '定额', capLine: '按法定上限调整',
  bandFromTo: (from: string, to: string) => `${from} 至 ${to} 元`,
  bandOver: (from: string) => `${from} 元以上`,
  breakdownNote: '各区间金额相加，适用法定比例后一次性四舍五入到分。',
  statutoryAmount: '法定收费金额', amountDue: '应缴金额', paidAmount: '已缴金额', outstanding: '待缴金额', dueDate: '缴费期限',
  halvedNote: '依法减半收取',
  shareNote: (percent: number) => `按裁判应负担的 ${percent}%`,
  remissions: '缓、减、免交决定',
  decisionRef: (ref: string) => `决定书：${ref}`,
  payNow: (amount: string) => `立即缴费 ${amount}`,
  payHint: '点击后将跳转到支付页面，可使用银行卡、支付宝或微信支付。',
  inParts: (max: string, rest: string) => `单笔线上支付最多 ${max}，本次先付这一部分；付款成功后，可用同一链接继续缴纳余下的 ${rest}。`,
  overdue: '已逾期',
  overdueText: '缴费期限已过。逾期不交纳诉讼费用又未申请缓交的，按撤诉处理。请尽快缴费或联系法院。',
  processing: '您的付款正在处理中',
  processingText: '支付机构正在确认这笔付款，请勿重复支付。稍后刷新本页即可看到结果。',
  paidInFull: '已缴清',
  overpaidText: (amount: string) => `您多缴了 ${amount}，多缴部分将由法院依法退还。`,
  nothingToPay: '无需缴费',
  nothingToPayText: '本项费用经法院决定免交，您无需缴费。',
  cancelled: '本通知书已撤销',
  cancelledText: '法院已撤回本缴费通知书，您无需缴纳本项费用。如已收到新的通知书，请按新通知书缴费。',
  refunded: '已退费',
  refundedText: '法院已退还本项费用。',
  partiallyRefunded: '已部分退费',
  partiallyRefundedText: '法院已退还本项费用的一部分。',
  viewReceipt: '查看缴费回单',
  backToNotice: '返回缴费通知书',
  thanks: '缴费成功，谢谢！',
  thanksText: (amount: string) => `我们已收到您的付款，本项费用已缴纳 ${amount}。`,
  confirming: '正在确认您的付款',
  confirmingText: '支付机构尚未通知最终结果。本页每 5 秒自动刷新；如未刷新，请手动刷新。请勿重复支付。',
  checkAgain: '重新查询付款结果',
  notCompleted: '支付未完成',
  notCompletedText: '本次支付没有完成，未产生任何扣款。您可以返回通知书重新缴费。',
  tryAgain: '返回通知书重新缴费',
  payments: '缴费记录', refunds: '退费记录', paymentId: '编号', time: '时间（北京时间）', method: '支付方式',
  noPayments: '暂无已完成的缴费。',
  totalPaid: '已缴合计', totalRefunded: '已退合计', netPaid: '实缴合计',
  printHint: '如需打印或保存，请使用浏览器的“打印”功能。',
  receiptRef: '回单号', issuedAt: '出具时间（北京时间）',
  receiptNote: '本页为网上缴费回单，回单号用于查询本记录，不是正式票据；诉讼费用正式票据由法院出具。',
  notFoundText: '此缴费链接无效。请核对缴费通知书上的链接，或联系法院。',
  problemHint: '如问题持续，请联系法院。',
  unavailableText: '系统暂时无法访问，请稍后再试。',
  feeKinds: {
    acceptance_property: '案件受理费（财产案件）',
    acceptance_divorce: '案件受理费（离婚案件）',
    acceptance_personality_rights: '案件受理费（人格权案件）',
    acceptance_other_non_property: '案件受理费（其他非财产案件）',
    acceptance_ip: '案件受理费（知识产权案件）',
    acceptance_labour: '案件受理费（劳动争议案件）',
    acceptance_administrative: '案件受理费（行政案件）',
    acceptance_administrative_special: '案件受理费（商标、专利、海事行政案件）',
    jurisdiction_objection: '管辖权异议案件受理费',
    enforcement: '申请执行费',
    preservation: '申请保全措施费',
    payment_order: '申请支付令费',
    public_notice: '申请公示催告费',
    arbitration_review: '申请撤销仲裁裁决或认定仲裁协议效力费',
    bankruptcy: '破产案件申请费',
  } as Record<string, string>,
  roles: {
    plaintiff: '原告', defendant: '被告', appellant: '上诉人', appellee: '被上诉人', applicant: '申请人',
    respondent: '被申请人', third_party: '第三人', counterclaimant: '反诉原告',
  } as Record<string, string>,
  statuses: {
    unpaid: '未缴费', partially_paid: '部分缴纳', paid: '已缴清', overpaid: '已缴清（多缴）',
    partially_refunded: '已部分退费', refunded: '已退费', cancelled: '已撤销',
  } as Record<string, string>,
  remissionKinds: { deferral: '缓交', reduction: '减交', exemption: '免交' } as Record<string, string>,
  methods: { card: '银行卡', alipay: '支付宝', wechat_pay: '微信支付' } as Record<string, string>,
  lineStatuses: {
    succeeded: '成功', disputed: '有争议', requested: '退费申请待审核', approved: '已批准，待退款', submitting: '退款处理中', submitted: '退款处理中',
    failed: '退款失败', rejected: '不予退费', cancelled: '已撤回',
  } as Record<string, string>,
};

export type Strings = typeof zh;

const en: Strings = {
  htmlLang: 'en',
  switchLabel: 'English',
  serviceName: 'Court fee payment',
  parens: (s: string) => ` (${s})`, listSep: '; ', comma: ', ', colon: ': ',
  sandbox: 'Test mode: no real money is charged',
  noticeTitle: 'Court fee notice',
  returnTitle: 'Payment result',
  receiptTitle: 'Payment receipt',
  notFoundTitle: 'Payment link not valid',
  problemTitle: 'We could not complete this',
  court: 'Court', caseNumber: 'Case number', payer: 'Payer', feeKind: 'Fee', status: 'Status',
  breakdown: 'How the fee is computed', band: 'Band', rate: 'Rate', amount: 'Amount',
  perCase: 'Per case', flat: 'Flat', capLine: 'Adjusted to the statutory cap',
  bandFromTo: (from: string, to: string) => `${from} to ${to} yuan`,
  bandOver: (from: string) => `Over ${from} yuan`,
  breakdownNote: 'The band amounts are added, any statutory proportion applied, and the total rounded once to the fen.',
  statutoryAmount: 'Statutory fee', amountDue: 'Amount due', paidAmount: 'Paid so far', outstanding: 'Still to pay', dueDate: 'Pay by',
  halvedNote: 'halved as the law provides',
  shareNote: (percent: number) => `your ${percent}% share under the judgment`,
  remissions: 'Deferral, reduction or exemption',
  decisionRef: (ref: string) => `Decision: ${ref}`,
  payNow: (amount: string) => `Pay ${amount} now`,
  payHint: 'You will be taken to the payment page: bank card, Alipay or WeChat Pay.',
  inParts: (max: string, rest: string) => `One online payment can be at most ${max}, so this pays the first part; once it has gone through, pay the remaining ${rest} from this same link.`,
  overdue: 'Overdue',
  overdueText: 'The deadline has passed. Court fees not paid in time, without an approved deferral, are treated as withdrawal of the case. Please pay now or contact the court.',
  processing: 'Your payment is being processed',
  processingText: 'The payment provider is confirming this payment; please do not pay again. Refresh this page shortly to see the result.',
  paidInFull: 'Paid in full',
  overpaidText: (amount: string) => `You paid ${amount} more than was due; the court will refund the difference.`,
  nothingToPay: 'Nothing to pay',
  nothingToPayText: 'The court has exempted this fee; you do not need to pay.',
  cancelled: 'This notice has been withdrawn',
  cancelledText: 'The court has withdrawn this fee notice; nothing is to be paid for it. If you received a new notice, pay according to that one.',
  refunded: 'Refunded',
  refundedText: 'The court has refunded this fee.',
  partiallyRefunded: 'Partly refunded',
  partiallyRefundedText: 'The court has refunded part of this fee.',
  viewReceipt: 'View the receipt',
  backToNotice: 'Back to the fee notice',
  thanks: 'Payment received, thank you',
  thanksText: (amount: string) => `We have received your payment; ${amount} has been paid towards this fee.`,
  confirming: 'We are confirming your payment',
  confirmingText: 'The payment provider has not told us the final result yet. This page refreshes every 5 seconds; if it does not, refresh it yourself. Please do not pay again.',
  checkAgain: 'Check the result again',
  notCompleted: 'Payment not completed',
  notCompletedText: 'The payment was not completed and nothing was charged. You can go back to the notice and try again.',
  tryAgain: 'Back to the notice to try again',
  payments: 'Payments', refunds: 'Refunds', paymentId: 'Reference', time: 'Time (Beijing)', method: 'Method',
  noPayments: 'No completed payments yet.',
  totalPaid: 'Total paid', totalRefunded: 'Total refunded', netPaid: 'Net paid',
  printHint: "To print or save this receipt, use your browser's Print command.",
  receiptRef: 'Receipt reference', issuedAt: 'Issued (Beijing time)',
  receiptNote: 'This is a record of your online payments and refunds; its reference identifies this record and is not an official receipt number. The court issues the official court-fee receipt.',
  notFoundText: 'This payment link is not valid. Check the link on your fee notice, or contact the court.',
  problemHint: 'If this keeps happening, contact the court.',
  unavailableText: 'The service is briefly unavailable. Please try again in a moment.',
  feeKinds: {
    acceptance_property: 'Acceptance fee (property case)',
    acceptance_divorce: 'Acceptance fee (divorce case)',
    acceptance_personality_rights: 'Acceptance fee (personality rights case)',
    acceptance_other_non_property: 'Acceptance fee (other non-property case)',
    acceptance_ip: 'Acceptance fee (intellectual property case)',
    acceptance_labour: 'Acceptance fee (labour dispute)',
    acceptance_administrative: 'Acceptance fee (administrative case)',
    acceptance_administrative_special: 'Acceptance fee (trademark, patent or maritime administrative case)',
    jurisdiction_objection: 'Fee for a rejected jurisdiction objection',
    enforcement: 'Enforcement application fee',
    preservation: 'Preservation application fee',
    payment_order: 'Payment order application fee',
    public_notice: 'Public notice (summons for claims) application fee',
    arbitration_review: 'Application fee: setting aside an arbitral award or ruling on an arbitration agreement',
    bankruptcy: 'Bankruptcy application fee',
  },
  roles: {
    plaintiff: 'Plaintiff', defendant: 'Defendant', appellant: 'Appellant', appellee: 'Appellee', applicant: 'Applicant',
    respondent: 'Respondent', third_party: 'Third party', counterclaimant: 'Counterclaimant',
  },
  statuses: {
    unpaid: 'Unpaid', partially_paid: 'Partly paid', paid: 'Paid in full', overpaid: 'Paid in full (overpaid)',
    partially_refunded: 'Partly refunded', refunded: 'Refunded', cancelled: 'Withdrawn',
  },
  remissionKinds: { deferral: 'Deferral', reduction: 'Reduction', exemption: 'Exemption' },
  methods: { card: 'Bank card', alipay: 'Alipay', wechat_pay: 'WeChat Pay' },
  lineStatuses: {
    succeeded: 'Succeeded', disputed: 'Disputed', requested: 'Awaiting approval', approved: 'Approved, to be sent', submitting: 'Refund under way', submitted: 'Refund under way',
    failed: 'Refund failed', rejected: 'Not approved', cancelled: 'Withdrawn',
  },
};

export const STRINGS: Readonly<Record<Lang, Strings>> = { zh, en };

type Table = 'feeKinds' | 'roles' | 'statuses' | 'remissionKinds' | 'methods' | 'lineStatuses';

/** A code's label in the language; an unknown code is shown as it is (the caller escapes it). */
export function label(lang: Lang, table: Table, code: string): string {
  const labels = STRINGS[lang][table];
  return Object.hasOwn(labels, code) ? labels[code]! : code;
}

function asLang(value: unknown): Lang | null {
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first !== 'string') return null;
  const v = first.trim().toLowerCase();
  return v === 'en' || v === 'zh' ? v : null;
}

/** The language the litigant chose explicitly (`?lang=`, or the form's hidden `lang`): pass req.query, or the value itself. */
export function explicitLang(query: unknown): Lang | null {
  return query !== null && typeof query === 'object' && !Array.isArray(query)
    ? asLang((query as Record<string, unknown>).lang)
    : asLang(query);
}

/** The `lang` cookie's value in a Cookie header, if it names a language we have. */
function cookieLang(cookieHeader: string | undefined): Lang | null {
  for (const part of (cookieHeader ?? '').split(';')) {
    const [name, ...value] = part.split('=');
    if (name.trim() === LANG_COOKIE) return asLang(decodeURIComponent(value.join('=').trim()));
  }
  return null;
}

export const LANG_COOKIE = 'lang';

/**
 * One rule: Chinese, unless the litigant chose. `?lang=en|zh` is a choice; without one, the choice
 * kept in the `lang` cookie (set when they chose) decides. Accept-Language is not used: a court's
 * notice is in Chinese, and a browser set to English (a shared or borrowed one) is not a choice.
 */
export function pickLang(query: unknown, cookieHeader: string | undefined): Lang {
  return explicitLang(query) ?? cookieLang(cookieHeader) ?? 'zh';
}

/** Set-Cookie keeping a choice for a year, for the litigant pages only; not a secret, so readable by nothing but the pages anyway. */
export function langCookie(lang: Lang): string {
  return `${LANG_COOKIE}=${lang}; Path=/pay; Max-Age=31536000; SameSite=Lax`;
}
