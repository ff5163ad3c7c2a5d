import Joi from 'joi';
import { assertCanSee } from '../auth/principal';
import type { RouteDef } from '../http/route';
import { json, ref } from '../http/schemas';
import { NotFoundError } from '../shared/errors';
import { presentPayment, type PaymentRow } from './payment-store';

export const paymentRoutes: RouteDef[] = [
  {
    method: 'get',
    path: '/v1/payments/{paymentId}',
    summary: 'One payment, with its processor ids',
    tag: 'payments',
    access: ['clerk', 'finance', 'case_system'],
    params: Joi.object({ paymentId: Joi.string().pattern(/^pay_[A-Za-z0-9]{1,40}$/).required() }),
    responses: { 200: json('the payment', ref('Payment')) },
    async read({ db, principal, params }) {
      const row = await db('payments as p')
        .join('invoices as i', 'i.id', 'p.invoice_id')
        .join('cases as c', 'c.id', 'i.case_id')
        .where('p.public_id', params.paymentId)
        .first<PaymentRow & { invoice_public_id: string; case_number: string }>('p.*', 'i.public_id as invoice_public_id', 'c.case_number');
      if (!row) throw new NotFoundError(`payment ${params.paymentId}`);
      assertCanSee(principal, row.court_code, `payment ${params.paymentId}`);
      return { status: 200, body: presentPayment(row, { invoiceId: row.invoice_public_id, caseNumber: row.case_number }) };
    },
  },
];
