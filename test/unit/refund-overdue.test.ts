import { expect } from 'chai';
import { isRefundOpen, isRefundOverdue, OPEN_REFUND_STATUSES } from '../../src/refunds/overdue';
import { canMove, REFUND_STATUSES } from '../../src/refunds/transitions';

describe('open and overdue refunds, from the transition table', () => {
  it('when a status can still lead to succeeded, then it is open; succeeded, failed, rejected and cancelled never are', () => {
    expect(OPEN_REFUND_STATUSES).to.include.members(['requested', 'approved', 'submitting', 'submitted']);
    for (const closed of ['succeeded', 'failed', 'rejected', 'cancelled'] as const) expect(isRefundOpen(closed), closed).to.equal(false);
    // Every status is one or the other, and an open one has a way forward.
    for (const s of REFUND_STATUSES) {
      if (isRefundOpen(s)) expect(REFUND_STATUSES.some((to) => canMove(s, to)), s).to.equal(true);
    }
  });

  it('when an open refund\'s due date is before the court\'s today, then it is overdue; on the day, closed, or with no due date, it is not', () => {
    expect(isRefundOverdue({ status: 'submitting', due_date: '2024-07-15' }, '2024-07-16')).to.equal(true);
    expect(isRefundOverdue({ status: 'requested', due_date: '2024-07-16' }, '2024-07-16')).to.equal(false);
    expect(isRefundOverdue({ status: 'failed', due_date: '2024-07-15' }, '2024-07-16')).to.equal(false);
    expect(isRefundOverdue({ status: 'rejected', due_date: '2024-07-15' }, '2024-07-16')).to.equal(false);
    expect(isRefundOverdue({ status: 'approved', due_date: null }, '2024-07-16')).to.equal(false);
  });
});
