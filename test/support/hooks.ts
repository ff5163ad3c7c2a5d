import nock from 'nock';
import { expect } from 'chai';
import { unbalancedTransactions } from '../../src/ledger/ledger';
import { setupTestEnv, teardownTestEnv, testEnv } from './env';

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60000);
    await setupTestEnv();
    // Only loopback (this app, the database): anything else must be stubbed with nock.
    nock.disableNetConnect();
    nock.enableNetConnect(/^(127\.0\.0\.1|localhost)(:\d+)?$/);
  },
  /** Every ledger transaction sums to zero, after every test. */
  async afterEach() {
    expect(await unbalancedTransactions(testEnv().knex)).to.deep.equal([]);
  },
  async afterAll() {
    nock.enableNetConnect();
    await teardownTestEnv();
  },
};
