import { INVOICE_STATUSES } from '../invoices/status';
import { REFUND_STATUSES } from '../refunds/transitions';

/** JSON Schema as OpenAPI 3.0 writes it (`nullable: true` beside a type). */
export type JsonSchema = Record<string, unknown>;

/** A documented response with its body's schema. */
export interface ResponseDoc {
  description: string;
  schema: JsonSchema;
}

/** A named component (test/api/openapi-schemas.test.ts checks every reference resolves). */
export const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
/** A response: what it is, and the schema its body follows. */
export const json = (description: string, schema: JsonSchema): ResponseDoc => ({ description, schema });
/** The list envelope every search answers: a page of items and the cursor of the next page (null at the end). */
export const listOf = (item: JsonSchema, paged = true): JsonSchema => ({
  type: 'object',
  required: paged ? ['data', 'nextCursor'] : ['data'],
  additionalProperties: false,
  properties: { data: { type: 'array', items: item }, ...(paged ? { nextCursor: { type: 'string', nullable: true } } : {}) },
});
/** An object whose listed fields are all present; `open` lets other fields through (loosely documented shapes). */
export const obj = (properties: Record<string, JsonSchema>, o: { optional?: string[]; open?: boolean; nullable?: boolean } = {}): JsonSchema => ({
  type: 'object',
  ...(o.nullable ? { nullable: true } : {}),
  required: Object.keys(properties).filter((k) => !o.optional?.includes(k)),
  ...(o.open ? {} : { additionalProperties: false }),
  properties,
});
export const allOf = (...schemas: JsonSchema[]): JsonSchema => ({ allOf: schemas });

const str = (description?: string): JsonSchema => ({ type: 'string', ...(description ? { description } : {}) });
const nstr = (description?: string): JsonSchema => ({ ...str(description), nullable: true });
const fen = (description = 'fen'): JsonSchema => ({ type: 'integer', description });
const nfen = (description = 'fen'): JsonSchema => ({ ...fen(description), nullable: true });
const bool: JsonSchema = { type: 'boolean' };
const int: JsonSchema = { type: 'integer' };
const instant: JsonSchema = { type: 'string', format: 'date-time' };
const ninstant: JsonSchema = { ...instant, nullable: true };
const day: JsonSchema = { type: 'string', format: 'date', description: 'a court day, YYYY-MM-DD' };
const nday: JsonSchema = { ...day, nullable: true };
const anyJson: JsonSchema = {};
const enumOf = (values: readonly string[]): JsonSchema => ({ type: 'string', enum: [...values] });
const person: JsonSchema = obj({ login: str(), name: str() }, { nullable: true });
const courts: JsonSchema = { oneOf: [{ type: 'array', items: str() }, { type: 'string', enum: ['all'] }], description: 'court codes, or "all"' };

const summaryFields = {
  id: str('inv_…'),
  caseNumber: str(),
  courtCode: str(),
  feeKind: str(),
  stage: str(),
  payer: obj({ name: str(), role: str(), type: str(), email: str(), phone: str() }, { optional: ['type', 'email', 'phone'] }),
  amount: fen('amount due, fen (after remissions)'),
  statutoryAmount: fen('the fee the schedule gives, fen'),
  currency: str(),
  scheduleVersion: nstr(),
  status: enumOf(INVOICE_STATUSES),
  overdue: bool,
  paidAmount: fen(),
  refundedAmount: fen(),
  outstanding: fen(),
  noticeDate: day,
  dueDate: day,
  paymentUrl: str('the litigant\'s payment page'),
  createdAt: instant,
  cancelledAt: ninstant,
  cancelReason: nstr(),
};

const paymentFields = {
  id: str('pay_…'),
  invoiceId: str(),
  caseNumber: str(),
  courtCode: str(),
  amount: fen(),
  currency: str(),
  status: str(),
  settledAmount: nfen(),
  refundedAmount: fen(),
  processor: str(),
  checkoutSessionId: nstr(),
  paymentIntentId: nstr(),
  chargeId: nstr(),
  paymentMethodType: nstr(),
  processorFee: nfen(),
  disputeStatus: nstr(),
  flagged: obj({ at: instant, reason: nstr() }, { nullable: true }),
  failureReason: nstr(),
  expiresAt: ninstant,
  createdAt: instant,
  settledAt: ninstant,
};

const refundFields = {
  id: str('rf_…'),
  paymentId: str(),
  invoiceId: str(),
  caseNumber: str(),
  courtCode: str(),
  amount: fen(),
  currency: str(),
  reasonCode: str(),
  note: nstr(),
  origin: str(),
  status: enumOf(REFUND_STATUSES),
  dueDate: nday,
  overdue: bool,
  requestedBy: str(),
  approvedBy: nstr(),
  approvedAt: ninstant,
  rejectedBy: nstr(),
  rejectedAt: ninstant,
  decisionNote: nstr(),
  cancelledBy: nstr(),
  cancelledAt: ninstant,
  requestedByPerson: person,
  approvedByPerson: person,
  rejectedByPerson: person,
  cancelledByPerson: person,
  processorRefundId: nstr(),
  processorStatus: nstr(),
  submittedAt: ninstant,
  succeededAt: ninstant,
  failedAt: ninstant,
  failureReason: nstr(),
  createdAt: instant,
};
const refundOptional = ['paymentId', 'invoiceId', 'caseNumber'];

const remissionFields = {
  id: str('rem_…'),
  kind: enumOf(['deferral', 'reduction', 'exemption']),
  decisionRef: str(),
  decidedBy: str(),
  decidedAt: day,
  reductionPercent: { type: 'integer', nullable: true },
  newDueDate: nday,
  amountBefore: fen(),
  amountAfter: fen(),
  recordedAt: instant,
  status: enumOf(['pending', 'approved', 'rejected']),
  enteredBy: nstr(),
  enteredByPerson: person,
  approvedBy: nstr(),
  approvedByPerson: person,
  approvedAt: ninstant,
  rejectedBy: nstr(),
  rejectedByPerson: person,
  rejectedAt: ninstant,
  approvalNote: nstr(),
};

const runFields = {
  id: str('rr_…'),
  courtCode: nstr(),
  scope: str(),
  date: day,
  status: str(),
  source: str(),
  attempt: int,
  startedBy: nstr(),
  startedAt: instant,
  finishedAt: ninstant,
  failureReason: nstr(),
  totals: { type: 'object', nullable: true, description: 'gross collected, refunded, processor fees, net, clearing, payouts: only once completed' },
  checks: { type: 'object', nullable: true, description: 'healing, other days, case records' },
  counts: {
    type: 'object',
    description: 'discrepancy lines by kind',
    additionalProperties: obj({ total: int, open: int, healed: int, resolved: int }),
  },
};

const staffFields = {
  login: str(),
  name: str(),
  roles: { type: 'array', items: str() },
  courts,
  active: bool,
  passwordSet: bool,
  lockedUntil: ninstant,
  createdAt: instant,
  updatedAt: instant,
};

/**
 * The bodies the API answers with, written from what the presenters return (presentInvoice,
 * presentPayment, presentRefund, …). test/api/openapi-schemas.test.ts validates real answers
 * against them, so a field added to a presenter and not here fails a test.
 */
export const COMPONENTS = {
  Problem: obj(
    {
      type: str(), title: str(), status: int, detail: str(), code: str('stable machine code'),
      errors: { type: 'array', items: obj({ field: str(), message: str() }, { open: true }) },
    },
    { optional: ['detail', 'errors', 'type'], open: true },
  ),
  InvoiceSummary: obj(summaryFields),
  Invoice: obj({ ...summaryFields, basis: { type: 'object' }, breakdown: { type: 'array', items: ref('BreakdownLine') }, remissions: { type: 'array', items: ref('Remission') } }),
  InvoiceDetail: obj({
    ...summaryFields, basis: { type: 'object' }, breakdown: { type: 'array', items: ref('BreakdownLine') }, remissions: { type: 'array', items: ref('Remission') },
    payments: { type: 'array', items: ref('Payment') }, refunds: { type: 'array', items: ref('Refund') },
  }),
  InvoiceWithRemission: obj({ ...summaryFields, basis: { type: 'object' }, breakdown: { type: 'array', items: ref('BreakdownLine') }, remissions: { type: 'array', items: ref('Remission') }, remission: ref('Remission') }),
  Remission: obj(remissionFields),
  RemissionListed: obj({ ...remissionFields, invoiceId: str(), courtCode: str(), caseNumber: str() }, { open: true }),
  Payment: obj(paymentFields, { optional: ['invoiceId', 'caseNumber'] }),
  Refund: obj(refundFields, { optional: refundOptional }),
  RefundRequested: obj({ ...refundFields, refundableAfter: fen('what may still be refunded of the payment after this one') }, { optional: refundOptional }),
  RefundWithHistory: obj(
    {
      ...refundFields,
      history: {
        type: 'array',
        items: obj({ at: instant, actor: str('type:id'), person, action: str(), requestId: nstr(), status: nstr(), processorRefundId: nstr() }),
      },
    },
    { optional: refundOptional },
  ),
  RefundReason: obj({ code: str(), label: obj({ zh: str(), en: str() }), noteRequired: bool }),
  FeeTotals: obj({ due: fen(), paid: fen(), refunded: fen(), outstanding: fen() }),
  CaseFeeStatus: obj({
    caseNumber: str(), courtCode: str(), caseStatus: str(), totals: ref('FeeTotals'), currency: str(), status: str(), overdue: bool,
    invoices: {
      type: 'array',
      items: obj({ ...summaryFields, payments: { type: 'array', items: obj({ id: str(), amount: nfen(), status: str(), settledAt: ninstant }) } }),
    },
  }),
  Case: obj({
    caseNumber: str(), courtCode: str(), caseType: str(), procedure: str(), status: str(), title: nstr(),
    parties: { type: 'array', items: { type: 'object' } }, outcomeDate: nday, createdAt: instant, updatedAt: instant,
  }),
  CaseOutcome: obj(
    {
      caseNumber: str(), outcome: str(), effectiveDate: day, caseStatus: str(),
      refunds: { type: 'array', items: ref('Refund') },
      invoicesLowered: { type: 'array', items: obj({ id: str(), amountBefore: fen(), amountAfter: fen(), status: str() }, { open: true }) },
      invoicesIssued: { type: 'array', items: ref('Invoice') },
      unbilled: { type: 'array', items: obj({ invoiceId: str(), role: str(), sharePercent: int, amount: fen(), reason: str() }, { open: true }) },
    },
    { open: true },
  ),
  Quote: obj({
    courtCode: str(), amount: fen('due: the statutory amount × factor, rounded once half-up'), statutoryAmount: fen('before any halving'), currency: str(),
    scheduleVersion: str(), feeKind: str(), breakdown: { type: 'array', items: ref('BreakdownLine') }, halved: bool,
    halvingReasons: { type: 'array', items: str() }, factor: str('"1", "1/2", "1/3"'),
  }),
  BreakdownLine: obj({
    from: fen(), to: nfen(), rate: str(), rateBps: { type: 'integer', nullable: true },
    amount: { type: 'number', description: 'fen before the factor and the final rounding (display only)' }, label: str(),
  }),
  Court: obj({ code: str(), name: str(), level: str(), timeZone: str(), designation: nstr() }),
  ReconciliationRun: obj(runFields, { optional: ['counts'] }),
  ReconciliationItem: obj(
    {
      id: str(), runId: str(), courtCode: nstr(), kind: str(), status: str(), grade: nstr(), caseNumber: nstr(), invoiceId: nstr(), paymentId: nstr(),
      refundId: nstr(), balanceTransactionId: nstr(), processorObjectId: nstr(), paymentIntentId: nstr(), payoutId: nstr(),
      expectedAmount: nfen(), actualAmount: nfen(), currency: nstr(), detail: nstr('what differs, in words'),
      resolution: obj({ note: nstr(), by: nstr(), at: instant, person }, { nullable: true }),
      proposal: { type: 'object', nullable: true, description: 'over the second-person amount: who proposed resolving it, with what note' },
      createdAt: instant,
    },
  ),
  CallbackEndpoint: obj(
    {
      id: str('cbe_…'), url: str(), description: nstr(), courtCodes: courts, eventTypes: { type: 'array', items: str() }, enabled: bool,
      createdAt: instant, updatedAt: instant,
      health: obj({ pending: int, delivered: int, dead: int, lastDeliveredAt: ninstant, lastAttemptAt: ninstant, lastError: nstr() }),
      secret: nstr('shown this once (null on an Idempotency-Key replay)'), previousSecretsExpireAt: ninstant,
    },
    { optional: ['health', 'secret', 'previousSecretsExpireAt'] },
  ),
  CallbackMessage: obj(
    {
      id: str('cbm_…'), endpointId: str(), invoiceId: nstr(), type: str(), status: enumOf(['pending', 'delivered', 'dead']), attemptCount: int,
      nextAttemptAt: ninstant, lastStatusCode: { type: 'integer', nullable: true }, lastError: nstr(), deliveredAt: ninstant, deadAt: ninstant, createdAt: instant,
      body: { ...anyJson, description: 'exactly as sent (one message)' },
      attempts: {
        type: 'array',
        description: 'one message',
        items: obj({ attempt: int, at: instant, statusCode: { type: 'integer', nullable: true }, latencyMs: { type: 'integer', nullable: true }, error: nstr(), delivered: bool }),
      },
    },
    { optional: ['body', 'attempts'] },
  ),
  Staff: obj(
    { ...staffFields, setPasswordUrl: nstr('shown this once (null on an Idempotency-Key replay)'), setPasswordExpiresAt: instant },
    { optional: ['setPasswordUrl', 'setPasswordExpiresAt'] },
  ),
  Me: obj({ kind: enumOf(['api_key', 'session']), person, roles: { type: 'array', items: str() }, courts }),
  AuditEvent: obj(
    {
      id: str('aud_…'), occurredAt: instant, courtCode: nstr(), actor: obj({ type: str(), id: str() }), action: str(),
      entity: obj({ type: str(), id: str() }), requestId: nstr(), before: anyJson, after: anyJson,
      chain: obj({ name: str(), seq: int, hash: str() }, { nullable: true }),
    },
  ),
  Status: obj({ status: str() }),
  WebhookReceipt: obj({ received: { type: 'boolean', enum: [true] }, duplicate: bool, status: str() }, { open: true }),
  Landing: obj({ service: str(), description: str(), links: { type: 'array', items: obj({ rel: str(), href: str() }) } }),
} satisfies Record<string, JsonSchema>;
