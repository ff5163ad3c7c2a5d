import Joi from 'joi';
import type { RouteDef } from '../http/route';
import { json, ref } from '../http/schemas';
import { CASE_TYPES, PARTY_ROLES, PROCEDURES, presentCase, upsertCase, type CaseInput } from './cases';
import { caseFeeStatus } from './fee-status';
import { OUTCOMES, recordOutcome, type OutcomeInput } from './outcome';
import { isoDate } from '../http/validate';
import { payer } from '../invoices/routes';

const caseNumberParam = Joi.object({ caseNumber: Joi.string().max(100).required() });

const party = Joi.object({
  name: Joi.string().trim().min(1).max(200).required(),
  role: Joi.string().valid(...PARTY_ROLES).required(),
  type: Joi.string().valid('natural_person', 'legal_person', 'other_organization'),
});

const caseBody = Joi.object({
  courtCode: Joi.string().max(10).required(),
  caseType: Joi.string().valid(...CASE_TYPES).required(),
  procedure: Joi.string().valid(...PROCEDURES).default('ordinary'),
  title: Joi.string().trim().max(500).allow(null),
  parties: Joi.array().items(party).max(200),
});

export const caseRoutes: RouteDef[] = [
  {
    method: 'put',
    path: '/v1/cases/{caseNumber}',
    summary: 'Register a case, or update it',
    tag: 'cases',
    access: ['case_system'],
    params: caseNumberParam,
    body: caseBody,
    responses: { 200: json('the case, updated', ref('Case')), 201: json('the case, registered', ref('Case')) },
    async write({ params, body, principal, config }, tx) {
      const { created, row } = await upsertCase(tx, config, principal, params.caseNumber, body as CaseInput);
      return { status: created ? 201 : 200, body: presentCase(row) };
    },
  },
  {
    method: 'post',
    path: '/v1/cases/{caseNumber}/outcome',
    summary: 'Record how the case ended → the statutory refunds it creates (awaiting approval), each with a due date',
    tag: 'cases',
    access: ['case_system'],
    params: caseNumberParam,
    body: Joi.object({
      outcome: Joi.string().valid(...OUTCOMES).required(),
      effectiveDate: isoDate().required(),
      newClaimAmount: Joi.number().integer().min(0).max(10_000_000_000_000),
      feeAllocation: Joi.array()
        .items(
          Joi.object({
            role: Joi.string().valid(...PARTY_ROLES).required(),
            sharePercent: Joi.number().integer().min(0).max(100).required(),
            payer: payer.keys({ role: Joi.any().forbidden() }),
          }),
        )
        .unique('role')
        .max(10),
      note: Joi.string().trim().max(1000),
    }),
    responses: { 201: json('{ caseNumber, outcome, effectiveDate, caseStatus, refunds: [refund with dueDate], invoicesLowered: [{ id, amountBefore, amountAfter, status }], invoicesIssued: [invoice for a party’s judged share], unbilled: [{ invoiceId, role, sharePercent, amount, reason }] }', ref('CaseOutcome')) },
    async write({ params, body, principal, config }, tx) {
      return { status: 201, body: await recordOutcome(tx, config, principal, params.caseNumber, body as OutcomeInput) };
    },
  },
  {
    method: 'get',
    path: '/v1/cases/{caseNumber}/fees',
    summary: "A case's fee status: totals, status and invoices",
    tag: 'cases',
    access: ['case_system', 'clerk', 'finance'],
    params: caseNumberParam,
    responses: { 200: json('{ caseNumber, courtCode, totals: { due, paid, refunded, outstanding }, status, invoices }', ref('CaseFeeStatus')) },
    async read({ db, config, principal, params }) {
      return { status: 200, body: await caseFeeStatus(db, config, principal, params.caseNumber) };
    },
  },
];
