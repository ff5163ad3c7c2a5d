import Joi from 'joi';
import { PARTY_ROLES, requireCaseNumber } from '../cases/cases';
import { feeBasisKeys } from '../fees/routes';
import type { RouteDef } from '../http/route';
import { json, listOf, ref } from '../http/schemas';
import { isoDate } from '../http/validate';
import { cancelInvoice, getInvoice, issueInvoice, listInvoices, type IssueInput, type ListFilter } from './invoices';
import { approveRemission, listRemissions, recordRemission, rejectRemission, type RemissionInput, type RemissionListFilter } from './remissions';
import { INVOICE_STATUSES } from './status';

const caseNumberParam = Joi.object({ caseNumber: Joi.string().max(100).required() });
const remissionIdParam = Joi.object({ remissionId: Joi.string().pattern(/^rem_[A-Za-z0-9]{1,40}$/).required() });
const invoiceIdParam = Joi.object({ invoiceId: Joi.string().pattern(/^inv_[A-Za-z0-9]{1,40}$/).required() });

/** Who pays an invoice; the case outcome's feeAllocation takes the same, the role given by the allocation. */
export const payer = Joi.object({
  name: Joi.string().trim().min(1).max(200).required(),
  role: Joi.string().valid(...PARTY_ROLES).required(),
  type: Joi.string().valid('natural_person', 'legal_person', 'other_organization'),
  email: Joi.string().email({ tlds: false }).max(200),
  phone: Joi.string().pattern(/^\+?[0-9 -]{5,20}$/),
});

const issueBody = Joi.object({ ...feeBasisKeys, payer: payer.required(), dueDate: isoDate() });

export const listQuery = Joi.object({
  courtCode: Joi.string().max(10),
  caseNumber: Joi.string().max(100),
  status: Joi.string().valid(...INVOICE_STATUSES),
  from: isoDate(),
  to: isoDate(),
  limit: Joi.number().integer().min(1).max(500).default(50),
  cursor: Joi.string().max(200),
});

const remissionBody = Joi.object({
  kind: Joi.string().valid('deferral', 'reduction', 'exemption').required(),
  decisionRef: Joi.string().trim().min(1).max(200).required(),
  decidedBy: Joi.string().trim().min(1).max(200).required(),
  decidedAt: isoDate().required(),
  newDueDate: isoDate().when('kind', { is: 'deferral', then: Joi.required(), otherwise: Joi.forbidden() }),
  reductionPercent: Joi.number().integer().min(30).max(99).when('kind', { is: 'reduction', then: Joi.required(), otherwise: Joi.forbidden() }),
});

const READERS = ['case_system', 'clerk', 'finance'] as const;

export const invoiceRoutes: RouteDef[] = [
  {
    method: 'post',
    path: '/v1/cases/{caseNumber}/invoices',
    summary: 'Issue a fee invoice computed by the statutory schedule',
    tag: 'invoices',
    access: ['case_system'],
    params: caseNumberParam,
    body: issueBody,
    responses: { 201: json('the invoice, with amount, breakdown, dueDate and paymentUrl', ref('Invoice')) },
    async write({ params, body, principal, config }, tx) {
      const invoice = await issueInvoice(tx, config, principal, params.caseNumber, body as IssueInput);
      return { status: 201, body: invoice, headers: { location: `/v1/invoices/${invoice.id}` } };
    },
  },
  {
    method: 'get',
    path: '/v1/invoices',
    summary: 'Search invoices of the courts this key may see',
    tag: 'invoices',
    access: READERS,
    query: listQuery,
    responses: { 200: json('{ data: [invoice], nextCursor }', listOf(ref('InvoiceSummary'))) },
    async read({ db, config, principal, query }) {
      const f = query as ListFilter;
      const canonical = f.caseNumber ? requireCaseNumber(f.caseNumber).canonical : undefined;
      return { status: 200, body: await listInvoices(db, config, principal, f, canonical) };
    },
  },
  {
    method: 'get',
    path: '/v1/invoices/{invoiceId}',
    summary: 'One invoice with its remissions, payments and refunds',
    tag: 'invoices',
    access: READERS,
    params: invoiceIdParam,
    responses: { 200: json('the invoice', ref('InvoiceDetail')) },
    async read({ db, config, principal, params }) {
      return { status: 200, body: await getInvoice(db, config, principal, params.invoiceId) };
    },
  },
  {
    method: 'post',
    path: '/v1/invoices/{invoiceId}/cancel',
    summary: 'Cancel an unpaid invoice',
    tag: 'invoices',
    access: ['case_system', 'clerk'],
    params: invoiceIdParam,
    body: Joi.object({ reason: Joi.string().trim().max(500) }),
    responses: { 200: json('the cancelled invoice', ref('Invoice')) },
    async write({ params, body, principal, config }, tx) {
      return { status: 200, body: await cancelInvoice(tx, config, principal, params.invoiceId, (body as { reason?: string }).reason) };
    },
  },
  {
    method: 'post',
    path: '/v1/invoices/{invoiceId}/remissions',
    summary: 'Record a deferral, reduction or exemption decision (缓交 / 减交 / 免交)',
    tag: 'invoices',
    access: ['case_system', 'clerk'],
    sessions: true,
    params: invoiceIdParam,
    body: remissionBody,
    responses: {
      200: json('a case system\'s decision (a key with no person), applied: the invoice with the new amount due, the statutory amount beside it, and `remission`', ref('InvoiceWithRemission')),
      202: json('entered by a person (a session, or a key with an owner): `remission` is pending a second person\'s approval; the invoice is unchanged', ref('InvoiceWithRemission')),
    },
    async write({ params, body, principal, config }, tx) {
      const r = await recordRemission(tx, config, principal, params.invoiceId, body as RemissionInput);
      return { status: r.pending ? 202 : 200, body: { ...r.invoice, remission: r.remission } };
    },
  },
  {
    method: 'get',
    path: '/v1/remissions',
    summary: 'Remissions of the courts this caller may see, newest first; status=pending is what awaits a second person',
    tag: 'invoices',
    access: ['clerk', 'approver', 'finance'],
    sessions: true,
    query: Joi.object({
      status: Joi.string().valid('pending', 'approved', 'rejected'),
      courtCode: Joi.string().max(10),
      limit: Joi.number().integer().min(1).max(500).default(50),
      cursor: Joi.string().max(200),
    }),
    responses: { 200: json('{ data: [remission with invoiceId, courtCode, caseNumber], nextCursor }', listOf(ref('RemissionListed'))) },
    async read({ db, config, principal, query }) {
      return { status: 200, body: await listRemissions(db, config, principal, query as RemissionListFilter) };
    },
  },
  {
    method: 'post',
    path: '/v1/remissions/{remissionId}/approve',
    summary: 'Approve a pending remission (never the person who entered it): the invoice\'s amount due changes now',
    tag: 'invoices',
    access: ['approver'],
    sessions: true,
    params: remissionIdParam,
    body: Joi.object({ note: Joi.string().trim().max(1000) }),
    responses: { 200: json('the invoice with the new amount due, and `remission` (approved)', ref('InvoiceWithRemission')), 403: 'own_remission: the person who entered it', 409: 'not pending, or the invoice is no longer unpaid' },
    async write({ params, body, principal, config }, tx) {
      const r = await approveRemission(tx, config, principal, params.remissionId, (body as { note?: string }).note);
      return { status: 200, body: { ...r.invoice, remission: r.remission } };
    },
  },
  {
    method: 'post',
    path: '/v1/remissions/{remissionId}/reject',
    summary: 'Reject a pending remission, with a note (never the person who entered it): the invoice is unchanged',
    tag: 'invoices',
    access: ['approver'],
    sessions: true,
    params: remissionIdParam,
    body: Joi.object({ note: Joi.string().trim().min(1).max(1000).required() }),
    responses: { 200: json('the invoice, and `remission` (rejected)', ref('InvoiceWithRemission')), 403: 'own_remission', 409: 'not pending' },
    async write({ params, body, principal, config }, tx) {
      const r = await rejectRemission(tx, config, principal, params.remissionId, (body as { note: string }).note);
      return { status: 200, body: { ...r.invoice, remission: r.remission } };
    },
  },
];
