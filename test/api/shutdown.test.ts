import { expect } from 'chai';
import { startService } from '../../src/service';
import { testConfig, testEnv } from '../support/env';

describe('graceful shutdown', () => {
  it('when stopped with a request in flight, then that request completes, new connections are refused and the pool closes', async function () {
    if (testEnv().embedded) this.skip(); // a second service would need the embedded database the test process already holds
    const service = await startService(testConfig({ http: { port: 0 } }));
    const base = `http://127.0.0.1:${service.port}`;
    const received = new Promise((r) => service.server.once('request', r));
    const inFlight = fetch(`${base}/readyz`);
    await received; // the request is being handled (its database check is under way) when the stop begins
    const stopped = service.stop();
    const res = await inFlight;
    expect(res.status).to.equal(200);
    await stopped;
    let refused = false;
    try {
      await fetch(`${base}/healthz`);
    } catch {
      refused = true;
    }
    expect(refused).to.equal(true);
    let poolClosed = false;
    try {
      await service.db.knex.raw('select 1');
    } catch {
      poolClosed = true;
    }
    expect(poolClosed).to.equal(true);
  });
});
