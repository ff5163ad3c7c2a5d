import { expect } from 'chai';
import nock from 'nock';
import type { Role } from '../../src/auth/principal';
import { apiRoutes } from '../../src/http/app';
import { encodeCursor } from '../../src/http/lists';
import { api, auth } from '../support/builders';
import { keyFor, testEnv } from '../support/env';
import { dayOf, reconcile, stubProcessorDay } from '../support/reconciliation-fixtures';

const b64 = (s: string) => Buffer.from(s).toString('base64url');

/** Cursors this service never hands out: huge, negative, fractional, zero, padded, other shapes, not base64 at all. */
const MALFORMED = [
  b64('i:99999999999999999999999'), b64('i:9223372036854775808'), b64('i:9007199254740993'), b64('i:-1'), b64('i:1.5'), b64('i:0'), b64('i:01'),
  b64('i:1e9'), b64('x:1'), b64('i:1 '), b64('i:'), `${b64('i:1')}=`, `${b64('i:12')}==`, 'not a cursor!', '%%', '', 'a'.repeat(201), '\u0000',
];

describe('list cursors', () => {
  afterEach(() => nock.cleanAll());

  it('when any list route gets a malformed cursor, then 422 naming cursor (never a 500), and a cursor it handed out works', async () => {
    const day = dayOf('2024-03-06');
    stubProcessorDay([]);
    const run = await reconcile(day.date);
    if (run.outcome !== 'completed') throw new Error(run.outcome);
    const lists = apiRoutes(testEnv().processor).filter((r) => r.method === 'get' && (r.query?.describe() as { keys?: Record<string, unknown> } | undefined)?.keys?.cursor);
    expect(lists.length).to.be.at.least(6);
    const keys = new Map<Role, string>();
    for (const route of lists) {
      const role = (route.access as readonly Role[])[0];
      if (!keys.has(role)) keys.set(role, await keyFor(role, 'all'));
      const path = route.path.replace('{runId}', run.run.public_id);
      expect(path, 'a list route with a parameter this test does not fill').not.to.match(/\{/);
      for (const cursor of MALFORMED) {
        const res = await api().get(path).query({ cursor }).set(auth(keys.get(role)!));
        expect(res.status, `${route.path} cursor=${JSON.stringify(cursor)}: ${res.text}`).to.equal(422);
        expect(res.headers['content-type']).to.match(/application\/problem\+json/);
        expect(res.body.errors.map((e: { field: string }) => e.field)).to.deep.equal(['cursor']);
      }
      const ok = await api().get(path).query({ cursor: encodeCursor(1) }).set(auth(keys.get(role)!));
      expect(ok.status, `${route.path}: ${ok.text}`).to.equal(200);
    }
  });
});
