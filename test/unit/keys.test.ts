import { expect } from 'chai';
import { generateApiKey, hashKey, isWellFormedKey } from '../../src/auth/keys';
import { deriveStatus, outstanding } from '../../src/invoices/status';

describe('API key format', () => {
  it('when a key is generated, then it is well formed and its hash is stable', () => {
    const key = generateApiKey();
    expect(key).to.match(/^cpk_[A-Za-z0-9]{32}_[0-9a-f]{6}$/);
    expect(isWellFormedKey(key)).to.equal(true);
    expect(hashKey(key)).to.equal(hashKey(key)).and.not.include(key);
  });

  it('when one character of a key is changed, then the checksum rejects it before any lookup', () => {
    const key = generateApiKey();
    const i = 10;
    const typo = key.slice(0, i) + (key[i] === 'a' ? 'b' : 'a') + key.slice(i + 1);
    expect(isWellFormedKey(typo)).to.equal(false);
    expect(isWellFormedKey('cpk_short_abcdef')).to.equal(false);
  });

  it('when many keys are made, then none repeats', () => {
    const keys = new Set(Array.from({ length: 1000 }, generateApiKey));
    expect(keys.size).to.equal(1000);
  });
});

describe('invoice status from settled money', () => {
  const cases: [string, Parameters<typeof deriveStatus>[0], string, number][] = [
    ['nothing paid', { amountDue: 500, paid: 0, refunded: 0, cancelled: false }, 'unpaid', 500],
    ['part paid', { amountDue: 500, paid: 200, refunded: 0, cancelled: false }, 'partially_paid', 300],
    ['paid exactly', { amountDue: 500, paid: 500, refunded: 0, cancelled: false }, 'paid', 0],
    ['paid twice', { amountDue: 500, paid: 1000, refunded: 0, cancelled: false }, 'overpaid', 0],
    ['part refunded', { amountDue: 500, paid: 500, refunded: 250, cancelled: false }, 'partially_refunded', 0],
    ['all refunded', { amountDue: 500, paid: 500, refunded: 500, cancelled: false }, 'refunded', 0],
    ['exempted', { amountDue: 0, paid: 0, refunded: 0, cancelled: false }, 'paid', 0],
    ['cancelled', { amountDue: 500, paid: 0, refunded: 0, cancelled: true }, 'cancelled', 0],
  ];
  for (const [what, m, status, owed] of cases) {
    it(`when ${what}, then ${status} with ${owed} outstanding`, () => {
      expect(deriveStatus(m)).to.equal(status);
      expect(outstanding(m)).to.equal(owed);
    });
  }
});
