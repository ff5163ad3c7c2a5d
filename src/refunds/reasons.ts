/** Why money goes back. Codes are the API's; labels for people. */
export const REFUND_REASONS = {
  duplicate_payment: { zh: '重复缴费', en: 'Duplicate payment' },
  overpayment: { zh: '多缴费用', en: 'Overpayment' },
  case_withdrawn: { zh: '撤诉（减半收取）', en: 'Case withdrawn (fee halved)' },
  mediated: { zh: '调解结案（减半收取）', en: 'Settled by mediation (fee halved)' },
  not_accepted_or_dismissed: { zh: '不予受理 / 驳回起诉', en: 'Not accepted / suit dismissed' },
  remanded_on_appeal: { zh: '发回重审，退还上诉案件受理费', en: 'Remanded on appeal (appeal fee refunded)' },
  claim_reduced: { zh: '减少诉讼请求数额', en: 'Claim reduced' },
  fee_remission: { zh: '准予减交 / 免交', en: 'Fee reduction or exemption granted' },
  winner_prepaid: { zh: '胜诉方预交、败诉方负担', en: 'Prepaid by the winning party; borne by the loser' },
  court_decision: { zh: '法院决定', en: 'Court decision' },
  other: { zh: '其他（须说明）', en: 'Other (note required)' },
} as const;

export type RefundReason = keyof typeof REFUND_REASONS;
export const REFUND_REASON_CODES = Object.keys(REFUND_REASONS) as RefundReason[];
