/**
 * Benchmarks: `npm run bench -- <name> [flags]`. Each bench is bench/<name>.ts exporting
 * `run(args)`, resolving to the process exit code. Add a bench by adding a line below.
 */
import * as callbacks from './callbacks';
import * as reconcile from './reconcile';
import * as status from './status';
import * as refunds from './refunds';
import * as startup from './startup';
import * as webhooks from './webhooks';

type Bench = { run(args: string[]): Promise<number> };

const benches: Record<string, { about: string; bench: Bench }> = {
  status: { about: 'GET /v1/cases/{caseNumber}/fees against a bare Express + knex baseline', bench: status },
  refunds: { about: '200 clients requesting refunds on 20 settled payments (sandbox processor): accepted never above refundable', bench: refunds },
  callbacks: { about: '10,000 queued callbacks to a local receiver with 2 workers against a plain HTTP client', bench: callbacks },
  reconcile: { about: '1,000,000 report lines reconciled against 1,000,000 payments, against COPY of the same file', bench: reconcile },
  startup: { about: 'npm start to the first 200 from /readyz, fresh data folder and restart, against node -e \'\'', bench: startup },
  webhooks: { about: 'signed payment_intent.succeeded deliveries (distinct, then duplicates) against pgbench tpcb-like', bench: webhooks },
};

function usage(): string {
  const lines = Object.entries(benches).map(([name, b]) => `  ${name.padEnd(10)} ${b.about}`);
  return `usage: npm run bench -- <name> [--duration s] [--connections n] [--warmup s] [--workers n]\n\nbenches:\n${lines.join('\n')}\n`;
}

async function main(): Promise<number> {
  const [name, ...args] = process.argv.slice(2);
  const bench = name ? benches[name] : undefined;
  if (!bench) {
    process.stderr.write(name && name !== '--help' ? `unknown bench "${name}"\n\n${usage()}` : usage());
    return name && name !== '--help' ? 1 : 0;
  }
  return bench.bench.run(args);
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`bench failed: ${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
