import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the few Stripe endpoints a report-sourced reconciliation calls: report runs
 * (succeeded at once), the result file (streamed from disk, secret key required), empty payout and
 * balance-transaction lists. Files are chosen by the run's interval_start.
 */
export async function startReportStandIn(secretKey: string, files: Map<number, string>): Promise<{ apiBase: string; close(): Promise<void> }> {
  const runs = new Map<string, string>();
  let seq = 0;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const runObject = (id: string) => ({ id, object: 'reporting.report_run', status: 'succeeded', report_type: 'balance_change_from_activity.itemized.3', result: { id: `file_${id}`, object: 'file', url: `${base}/v1/files/file_${id}/contents` } });
    if (req.method === 'POST' && url.pathname === '/v1/reporting/report_runs') {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const start = Number(new URLSearchParams(body).get('parameters[interval_start]'));
        const file = files.get(start);
        if (!file) return json(400, { error: { type: 'invalid_request_error', message: `no data for interval_start ${start}` } });
        const id = `frr_bench${++seq}`;
        runs.set(id, file);
        json(200, runObject(id));
      });
      return;
    }
    const run = /^\/v1\/reporting\/report_runs\/(\w+)$/.exec(url.pathname);
    if (req.method === 'GET' && run) return json(200, runObject(run[1]));
    const file = /^\/v1\/files\/file_(\w+)\/contents$/.exec(url.pathname);
    if (req.method === 'GET' && file) {
      if (req.headers.authorization !== `Bearer ${secretKey}`) return json(401, { error: { type: 'invalid_request_error', message: 'bad key' } });
      res.writeHead(200, { 'content-type': 'text/csv' });
      fs.createReadStream(runs.get(file[1])!).pipe(res);
      return;
    }
    if (req.method === 'GET' && (url.pathname === '/v1/payouts' || url.pathname === '/v1/balance_transactions')) return json(200, { object: 'list', url: url.pathname, has_more: false, data: [] });
    json(404, { error: { type: 'invalid_request_error', message: `not stood in: ${req.method} ${url.pathname}` } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    apiBase: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
