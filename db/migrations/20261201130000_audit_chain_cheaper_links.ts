import type { Knex } from 'knex';

/**
 * The chain triggers of migration 20261201100000, cheaper per row and hashing the same bytes (the
 * spec there, and src/audit/chain-hash.ts, are unchanged; rows chained before and after verify alike):
 * - each column's text is computed once into a variable: the inlined chain_field(v) names v three
 *   times, so chain_field(new.after::text) serialised the jsonb three times (six per audit row);
 * - the timestamp's epoch microseconds are written out in the trigger: chain_micros cannot be
 *   inlined (extract from a timestamptz is only stable), so each row paid a SQL function call;
 * - an audit row whose writer gives the court (the settlement statement does) skips the entity
 *   lookup, as before; the lookup stays for writers that do not.
 * down puts 20261201100000's bodies back.
 */
const TEXTS = {
  audit_events: {
    vars: `t_at := (extract(epoch from new.occurred_at) * 1000000)::bigint::text; t_before := new.before::text; t_after := new.after::text;`,
    content: `chain_field(new.id::text) || chain_field(t_at) || chain_field(new.actor_type) || chain_field(new.actor_id)
      || chain_field(new.action) || chain_field(new.entity_type) || chain_field(new.entity_id) || chain_field(new.request_id)
      || chain_field(t_before) || chain_field(t_after) || chain_field(new.court_code)`,
  },
  ledger_transactions: {
    vars: `t_at := (extract(epoch from new.created_at) * 1000000)::bigint::text;`,
    content: `chain_field(new.id::text) || chain_field(t_at) || chain_field(new.kind) || chain_field(new.court_code)
      || chain_field(new.invoice_id::text) || chain_field(new.payment_id::text) || chain_field(new.refund_id::text) || chain_field(new.source)
      || chain_field(new.description)`,
  },
  ledger_entries: {
    vars: `t_at := (extract(epoch from new.created_at) * 1000000)::bigint::text;`,
    content: `chain_field(new.id::text) || chain_field(t_at) || chain_field(new.transaction_id::text) || chain_field(new.account)
      || chain_field(new.court_code) || chain_field(new.invoice_id::text) || chain_field(new.amount::text) || chain_field(new.currency::text)`,
  },
};
type Table = keyof typeof TEXTS;

const GLOBAL = 'global';
const AUDIT_COURT = `if new.court_code is null then new.court_code := audit_entity_court(new.entity_type, new.entity_id); end if;`;
const CHAIN_OF: Record<Table, string> = { audit_events: `coalesce(new.court_code, '${GLOBAL}')`, ledger_transactions: 'new.court_code', ledger_entries: 'new.court_code' };

/** A chain trigger's body: the row's content built once, then appended as chain_append does (inline after the statement's first append). */
function cheapLink(table: Table): string {
  return `declare k text; v text; s bigint; h bytea; c text; t_at text; t_before text; t_after text;
    begin
      ${table === 'audit_events' ? AUDIT_COURT : ''}
      k := ${CHAIN_OF[table]};
      ${TEXTS[table].vars}
      c := ${TEXTS[table].content};
      v := current_setting('courtpay.chain_' || k, true);
      if v is null or v = '' then
        -- The transaction's first append to the chain: chain_append locks the head row.
        select a.o_seq, a.o_hash into s, h from chain_append(k, '${table}', c) a;
      else
        s := split_part(v, ':', 1)::bigint + 1;
        h := sha256(decode(split_part(v, ':', 2), 'hex') || convert_to(chain_field('${table}') || chain_field(k) || chain_field(s::text) || c, 'UTF8'));
        perform set_config('courtpay.chain_' || k, s::text || ':' || encode(h, 'hex'), true);
      end if;
      new.chain_seq := s;
      new.chain_hash := h;
      return new;
    end $$;`;
}

/** 20261201100000's content expressions and bodies, as that migration made them (for down). */
const OLD_CONTENT: Record<Table, string> = {
  audit_events: `chain_field(new.id::text) || chain_field(chain_micros(new.occurred_at)) || chain_field(new.actor_type) || chain_field(new.actor_id)
      || chain_field(new.action) || chain_field(new.entity_type) || chain_field(new.entity_id) || chain_field(new.request_id)
      || chain_field(new.before::text) || chain_field(new.after::text) || chain_field(new.court_code)`,
  ledger_transactions: `chain_field(new.id::text) || chain_field(chain_micros(new.created_at)) || chain_field(new.kind) || chain_field(new.court_code)
      || chain_field(new.invoice_id::text) || chain_field(new.payment_id::text) || chain_field(new.refund_id::text) || chain_field(new.source)
      || chain_field(new.description)`,
  ledger_entries: `chain_field(new.id::text) || chain_field(chain_micros(new.created_at)) || chain_field(new.transaction_id::text) || chain_field(new.account)
      || chain_field(new.court_code) || chain_field(new.invoice_id::text) || chain_field(new.amount::text) || chain_field(new.currency::text)`,
};

function oldLink(table: Table): string {
  return `declare k text; v text; s bigint; h bytea;
    begin
      ${table === 'audit_events' ? AUDIT_COURT : ''}
      k := ${CHAIN_OF[table]};
      v := current_setting('courtpay.chain_' || k, true);
      if v is null or v = '' then
        -- The transaction's first append to the chain: chain_append locks the head row.
        select a.o_seq, a.o_hash into s, h from chain_append(k, '${table}', ${OLD_CONTENT[table]}) a;
      else
        s := split_part(v, ':', 1)::bigint + 1;
        h := sha256(decode(split_part(v, ':', 2), 'hex') || convert_to(chain_field('${table}') || chain_field(k) || chain_field(s::text) || ${OLD_CONTENT[table]}, 'UTF8'));
        perform set_config('courtpay.chain_' || k, s::text || ':' || encode(h, 'hex'), true);
      end if;
      new.chain_seq := s;
      new.chain_hash := h;
      return new;
    end $$;`;
}

const replaceAll = (body: (t: Table) => string) =>
  (Object.keys(TEXTS) as Table[]).map((t) => `create or replace function ${t}_chain() returns trigger language plpgsql as $$\n    ${body(t)}`).join('\n    ');

export async function up(knex: Knex): Promise<void> {
  await knex.raw(replaceAll(cheapLink));
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(replaceAll(oldLink));
}
