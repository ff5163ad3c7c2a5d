import { setupTestEnv, teardownTestEnv } from './env';

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60000);
    await setupTestEnv();
  },
  async afterAll() {
    await teardownTestEnv();
  },
};
