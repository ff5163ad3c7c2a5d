import { expect } from 'chai';
import { CANCELLABLE, canMove, REFUND_STATUSES, type RefundStatus } from '../../src/refunds/transitions';

describe('refund transitions', () => {
  const PROCESSOR_OUTCOMES: RefundStatus[] = ['submitted', 'succeeded', 'failed'];

  it('when a refund may have reached the processor (submitting, submitted), then it can never be cancelled, rejected or sent back, only moved on by the processor\'s outcome', () => {
    for (const from of ['submitting', 'submitted'] as RefundStatus[]) {
      for (const to of REFUND_STATUSES) {
        if (canMove(from, to)) expect(PROCESSOR_OUTCOMES, `${from} → ${to}`).to.include(to);
      }
      expect(canMove(from, 'cancelled'), `${from} → cancelled`).to.equal(false);
      expect(canMove(from, 'rejected'), `${from} → rejected`).to.equal(false);
    }
  });

  it('when asked what can be cancelled, then only refunds not yet submitting: requested and approved', () => {
    expect(CANCELLABLE).to.deep.equal(['requested', 'approved']);
  });

  it('when an approved refund is sent, then it goes through submitting first, and no state leads back to approved or submitting', () => {
    expect(canMove('approved', 'submitting')).to.equal(true);
    for (const from of REFUND_STATUSES) {
      if (from !== 'requested') expect(canMove(from, 'approved'), `${from} → approved`).to.equal(false);
      if (from !== 'approved') expect(canMove(from, 'submitting'), `${from} → submitting`).to.equal(false);
    }
  });
});
