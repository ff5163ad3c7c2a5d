import type { Knex } from 'knex';
import type { Config } from '../../src/config';

export interface SeedSize {
  cases: number;
  invoices: number;
}

/**
 * Cases spread over the configured courts, numbered as courts write them, e.g. (2025)晋0105民初123号
 * (canonical half-width form; the sequence alone is unique), with parties and outcomes.
 * The courts table must already hold config.courts (startService syncs it).
 */
const CASES_SQL = `
insert into cases (case_number, court_code, year, designation, type_designation, sequence, case_type, procedure,
                   status, title, parties, outcome_date, created_at, updated_at)
select format('(%s)%s%s%s号', year, designation, type_designation, g), code, year, designation, type_designation, g,
       case_type, procedure, status, title, parties,
       case when status <> 'open' then (created_at + interval '90 days')::date end, created_at, created_at
from (
  select r.g, r.year, ct.code, ct.designation, t.case_type,
         case when t.case_type = 'civil' and ct.level <> 'basic' then '民终' else t.type_designation end as type_designation,
         case when ct.level = 'basic' and t.case_type in ('civil', 'labour') and r.proc < 0.5 then 'summary' else 'ordinary' end as procedure,
         case when r.st < 0.55 then 'open' when r.st < 0.75 then 'judged' when r.st < 0.88 then 'mediated'
              when r.st < 0.95 then 'withdrawn' else 'closed' end as status,
         p.person || '诉' || p.company || t.cause as title,
         jsonb_build_array(
           jsonb_build_object('name', p.person, 'role', 'plaintiff', 'type', 'natural_person'),
           jsonb_build_object('name', p.company, 'role', 'defendant', 'type', 'legal_person')) as parties,
         make_date(year, 1, 1) + (r.day * 360)::int + time '09:30' as created_at
  from (select g, 2023 + g % 3 as year, random() as kind, random() as proc, random() as st, random() as day
        from generate_series(1, :cases) g) r
  join jsonb_to_recordset(:courts::jsonb) as ct(i int, code text, designation text, level text) on ct.i = g % :courtCount
  join (values (0.0, 0.60, 'civil', '民初', '买卖合同纠纷'), (0.60, 0.75, 'labour', '民初', '劳动争议'),
               (0.75, 0.95, 'enforcement', '执', '借款合同纠纷执行'), (0.95, 1.01, 'administrative', '行初', '行政处罚纠纷'))
       as t(lo, hi, case_type, type_designation, cause) on r.kind >= t.lo and r.kind < t.hi
  cross join lateral (
    select (array['张','王','李','赵','刘','陈','杨','黄','周','吴'])[1 + g % 10]
             || (array['伟','芳','娜','敏','静','丽','强','磊','军','洋','勇','艳'])[1 + (g / 10) % 12] as person,
           (array['太原','大同','晋中','长治','临汾'])[1 + g % 5]
             || (array['恒达','鑫源','华泰','晋丰','宏远','安泰'])[1 + (g / 5) % 6] || '商贸有限公司' as company
  ) p
) s`;

/**
 * Invoices on randomly chosen cases (some cases get none, some several), amounts from the 2007
 * schedule's bands (summary procedure halves acceptance fees), about 45% paid in full.
 */
/**
 * The fee kind and statutory fee of a seeded invoice, as SQL: a log-uniform claim of 2,000 to
 * 2,000,000 yuan from `claimFraction` (an expression in [0, 1)), then the 2007 schedule's bands.
 */
export function feeLateral(claimFraction: string): string {
  return `
  cross join lateral (
    select case c.case_type when 'labour' then 'acceptance_labour' when 'administrative' then 'acceptance_administrative'
                            when 'enforcement' then 'enforcement' else 'acceptance_property' end as fee_kind,
           round(exp(ln(2000) + ${claimFraction} * ln(1000)))::bigint as claim
  ) f
  cross join lateral (
    select (case f.fee_kind
      when 'acceptance_labour' then 1000
      when 'acceptance_administrative' then 5000
      when 'enforcement' then round(100 * (50 + 0.015 * greatest(0, least(f.claim, 500000) - 10000)
                                             + 0.01 * greatest(0, least(f.claim, 5000000) - 500000)))
      else round(100 * (50 + 0.025 * greatest(0, least(f.claim, 100000) - 10000) + 0.02 * greatest(0, least(f.claim, 200000) - 100000)
                           + 0.015 * greatest(0, least(f.claim, 500000) - 200000) + 0.01 * greatest(0, least(f.claim, 1000000) - 500000)
                           + 0.009 * greatest(0, least(f.claim, 2000000) - 1000000)))
    end)::bigint as fee
  ) fee_amount
`;
}

const INVOICES_SQL = `
insert into invoices (public_id, case_id, court_code, fee_kind, stage, payer, basis, schedule_version, breakdown,
                      statutory_amount, amount_due, paid_amount, status, notice_date, due_date, payment_token, created_at, updated_at)
select 'inv_' || substr(md5('inv' || g), 1, 20), id, court_code, fee_kind,
       case when type_designation = '民终' then 'appeal' else 'first_instance' end,
       jsonb_build_object('name', parties -> 0 ->> 'name', 'role', 'plaintiff', 'type', 'natural_person'),
       jsonb_build_object('claimAmount', claim * 100, 'procedure', procedure),
       '2007-04-01',
       jsonb_build_array(
         jsonb_build_object('from', 0, 'to', 1000000, 'rate', 'flat', 'rateBps', null, 'amount', least(fee, 5000),
                            'label', 'Art. 13(一): 50.00 yuan for up to 10,000.00 yuan'),
         jsonb_build_object('from', 1000000, 'to', claim * 100, 'rate', 'banded', 'rateBps', null, 'amount', greatest(fee - 5000, 0),
                            'label', 'Art. 13(一): banded part over 10,000.00 yuan')),
       amount, amount,
       case when paid then amount else 0 end,
       case when paid then 'paid' else 'unpaid' end,
       notice_date, notice_date + 7,
       translate(encode(substr(decode(md5('tok' || g) || md5('pay' || g), 'hex'), 1, 24), 'base64'), '+/', '-_'),
       notice_date + time '10:00', notice_date + time '10:00'
from (
  select r.g, c.*, f.*, fee_amount.fee,
         case when f.fee_kind like 'acceptance_%' and c.procedure = 'summary' then round(fee_amount.fee / 2.0)::bigint else fee_amount.fee end as amount,
         greatest(c.created_at::date, make_date(c.year, 1, 1) + (r.day * 360)::int) as notice_date,
         r.paid < 0.45 as paid
  from (select g, 1 + floor(random() * :cases)::int as rn, random() as claim_r, random() as day, random() as paid
        from generate_series(1, :invoices) g) r
  join (select row_number() over (order by id) as rn, * from cases) c on c.rn = r.rn
${feeLateral('r.claim_r')}) s`;

/** Seeds set-based in one transaction with a fixed random seed (comparable runs), then ANALYZEs. */
export async function seedCasesAndInvoices(knex: Knex, config: Readonly<Config>, size: SeedSize): Promise<void> {
  const courts = config.courts.map((c, i) => ({ i, code: c.code, designation: c.designation, level: c.level }));
  await knex.transaction(async (tx) => {
    await tx.raw('select setseed(0.2025)');
    await tx.raw(CASES_SQL, { cases: size.cases, courts: JSON.stringify(courts), courtCount: courts.length });
    await tx.raw(INVOICES_SQL, { cases: size.cases, invoices: size.invoices });
  });
  await knex.raw('analyze cases, invoices');
}

/** Up to `max` case numbers, in a random order: what load generators cycle over. */
export async function sampleCaseNumbers(knex: Knex, max: number): Promise<string[]> {
  const rows: { case_number: string }[] = await knex('cases').select('case_number').orderByRaw('random()').limit(max);
  return rows.map((r) => r.case_number);
}
