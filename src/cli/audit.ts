import type { Knex } from 'knex';
import { GLOBAL_CHAIN } from '../audit/chain-hash';
import { verifyChains } from '../audit/verify-chain';

export interface AuditVerifyArgs {
  court?: string;
  from?: string;
}

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

const isDay = (v: string) => /^\d{4}-\d{2}-\d{2}$/.test(v) && new Date(`${v}T00:00:00Z`).toISOString().slice(0, 10) === v;

const console_: Output = { out: (l) => console.log(l), err: (l) => console.error(l) };

/**
 * `npm run cli -- audit verify [--court CODE] [--from YYYY-MM-DD]`: walks the chain(s) and
 * recomputes every link. Exit 0 when all verify; 1, naming the first row that does not; 2 for
 * bad arguments. --court also takes "global" (the audit rows of no court).
 */
export async function auditVerifyCommand(knex: Knex, args: AuditVerifyArgs, io: Output = console_): Promise<number> {
  if (args.from !== undefined && !isDay(args.from)) {
    io.err('--from must be a date YYYY-MM-DD');
    return 2;
  }
  if (args.court && args.court !== GLOBAL_CHAIN && !(await knex('courts').where({ code: args.court }).first())) {
    io.err(`--court: no court ${args.court}`);
    return 2;
  }
  const reports = await verifyChains(knex, { chain: args.court, from: args.from });
  let broken = 0;
  for (const r of reports) {
    const f = r.failure;
    if (!f) {
      io.out(`chain ${r.chain}: ok — ${r.verified} rows verified${r.anchorSeq ? ` after seq ${r.anchorSeq}` : ''}, head seq ${r.head.seq} hash ${r.head.hash}`);
      continue;
    }
    broken += 1;
    const row = f.table ? `${f.table} id ${f.id} (seq ${f.seq})` : `seq ${f.seq}`;
    io.out(`chain ${r.chain}: FAILED at ${row}: ${f.reason} — ${f.detail}`);
  }
  if (broken) io.err(`${broken} of ${reports.length} chain(s) do not verify`);
  return broken ? 1 : 0;
}
