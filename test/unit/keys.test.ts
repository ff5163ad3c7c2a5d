import { expect } from 'chai';
import { generateApiKey, hashKey, keyChecksum, legacyChecksum, randomBase62 } from '../../src/auth/keys';
import { deriveStatus, outstanding } from '../../src/invoices/status';

describe('API key format', () => {
  const secret = 'a-server-secret-for-unit-tests';

  it('when a key is generated, then it is well formed, carries the keyed checksum and its hash is stable', () => {
    const key = generateApiKey(secret);
    expect(key).to.match(/^cpk_[A-Za-z0-9]{32}_[0-9a-f]{6}$/);
    expect(keyChecksum(key, secret)).to.equal('hmac_sha256');
    expect(hashKey(key)).to.equal(hashKey(key)).and.not.include(key);
  });

  it('when one character of a key is changed, then the checksum rejects it before any lookup', () => {
    const key = generateApiKey(secret);
    const i = 10;
    const typo = key.slice(0, i) + (key[i] === 'a' ? 'b' : 'a') + key.slice(i + 1);
    expect(keyChecksum(typo, secret)).to.equal(null);
    expect(keyChecksum('cpk_short_abcdef', secret)).to.equal(null);
  });

  it('when a key is made under another secret, then its checksum fails here (nobody without the secret can mint one)', () => {
    const forged = Array.from({ length: 200 }, () => generateApiKey('an-attacker-guessed-this-secret'));
    expect(forged.filter((k) => keyChecksum(k, secret) !== null).length).to.be.lessThan(2); // 24 bits: a chance in 16 million each
  });

  it('when a key carries the unkeyed checksum of keys issued before, then it is told apart as legacy', () => {
    const body = randomBase62(32);
    expect(keyChecksum(`cpk_${body}_${legacyChecksum(body)}`, secret)).to.equal('sha256');
  });

  it('when many keys are made, then none repeats', () => {
    const keys = new Set(Array.from({ length: 1000 }, () => generateApiKey(secret)));
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
