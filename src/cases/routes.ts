import Joi from 'joi';
import type { RouteDef } from '../http/route';
import { CASE_TYPES, PROCEDURES, presentCase, upsertCase, type CaseInput } from './cases';
import { caseFeeStatus } from './fee-status';

const caseNumberParam = Joi.object({ caseNumber: Joi.string().max(100).required() });

const party = Joi.object({
  name: Joi.string().trim().min(1).max(200).required(),
  role: Joi.string().valid('plaintiff', 'defendant', 'appellant', 'appellee', 'applicant', 'respondent', 'third_party', 'counterclaimant').required(),
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
    responses: { 200: 'the case, updated', 201: 'the case, registered' },
    async write({ params, body, principal, config }, tx) {
      const { created, row } = await upsertCase(tx, config, principal, params.caseNumber, body as CaseInput);
      return { status: created ? 201 : 200, body: presentCase(row) };
    },
  },
  {
    method: 'get',
    path: '/v1/cases/{caseNumber}/fees',
    summary: "A case's fee status: totals, status and invoices",
    tag: 'cases',
    access: ['case_system', 'clerk', 'finance'],
    params: caseNumberParam,
    responses: { 200: '{ caseNumber, courtCode, totals: { due, paid, refunded, outstanding }, status, invoices }' },
    async read({ db, config, principal, params }) {
      return { status: 200, body: await caseFeeStatus(db, config, principal, params.caseNumber) };
    },
  },
];
