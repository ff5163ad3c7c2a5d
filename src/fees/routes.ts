import Joi from 'joi';
import { assertCourtInScope } from '../auth/principal';
import { requireCourt } from '../courts/courts';
import type { RouteDef } from '../http/route';
import { json, ref } from '../http/schemas';
import { isoDate } from '../http/validate';
import { FEE_KINDS, HALVINGS } from './compute';
import { quoteFee, type QuoteRequest } from './quote';

const fen = () => Joi.number().integer().min(0).max(10_000_000_000_000);

/** The fee basis fields shared by quotes and invoices. */
export const feeBasisKeys = {
  feeKind: Joi.string().valid(...FEE_KINDS).required(),
  claimAmount: fen().description('fen'),
  propertyAmount: fen().description('fen; divorce property division'),
  damagesAmount: fen().description('fen; personality-rights damages'),
  stage: Joi.string().valid('first_instance', 'appeal', 'retrial'),
  halving: Joi.string().valid(...HALVINGS),
  amount: fen().description('fen; only for per-case fees the law gives as a range'),
};

const quoteBody = Joi.object({
  courtCode: Joi.string().max(10).required(),
  ...feeBasisKeys,
  procedure: Joi.string().valid('ordinary', 'summary'),
  onDate: isoDate(),
});

export const feeRoutes: RouteDef[] = [
  {
    method: 'post',
    path: '/v1/fees/quote',
    summary: 'Compute a statutory fee without saving it',
    tag: 'fees',
    access: 'any_key',
    body: quoteBody,
    responses: { 200: json('{ courtCode, amount, currency, scheduleVersion, breakdown: [{ from, to, rate, amount }] }', ref('Quote')) },
    async read({ body, principal, config }) {
      const req = body as QuoteRequest;
      requireCourt(config, req.courtCode);
      assertCourtInScope(principal, req.courtCode);
      return { status: 200, body: { courtCode: req.courtCode, ...quoteFee(config, req) } };
    },
  },
];
