import type { Server } from 'node:http';
import express from 'express';
import type { Knex } from 'knex';

/**
 * The floor to compare against: bare Express 5 (no helmet, auth, logging, metrics) on the same
 * knex pool, one indexed SELECT per request, answered as JSON.
 */
export async function startBaseline(knex: Knex): Promise<{ port: number; close(): Promise<void> }> {
  const app = express();
  let inFlight = 0;
  let drained: (() => void) | null = null;
  app.get('/baseline/:caseNumber', async (req, res) => {
    inFlight++;
    try {
      const row = await knex('cases').where('case_number', req.params.caseNumber).first('id', 'status');
      if (!row) res.status(404).json({ error: 'not_found' });
      else res.json(row);
    } finally {
      if (--inFlight === 0) drained?.();
    }
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(0, () => resolve(s));
    s.once('error', reject);
  });
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('baseline server has no port');
  return {
    port: address.port,
    /** Stops listening and waits for handlers still queued on the pool (the load generator has already hung up). */
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
    },
  };
}
