import type { Knex } from 'knex';

/**
 * A trail that shows tampering (全程留痕). Every row of audit_events, ledger_transactions and
 * ledger_entries is a link of a hash chain: one chain per court (the court's code), and the chain
 * "global" for audit rows that belong to no court (API keys, callback endpoints, staff). A BEFORE
 * INSERT trigger on each table — so every writer is covered alike: recordAudit, the ledger's post,
 * the group-commit settlement statement, migrations — takes the chain's head row (chain_heads) with
 * a row lock at a transaction's first append to the chain, which serialises appends per chain until
 * the writing transaction ends (the head row itself is written at the end of each statement), and stores on the row:
 *
 *   chain_seq  = head.seq + 1   (1, 2, 3, … per chain, across the three tables)
 *   chain_hash = SHA-256(head.hash ‖ UTF-8(message))   (the genesis head: 32 zero bytes)
 *
 * message = F(table) F(chain) F(chain_seq) F(column)… with F(null) = "~" and F(v) = the decimal
 * byte length of v's UTF-8, ":", v. Each column is its Postgres text form, except timestamps:
 * microseconds since the Unix epoch (decimal), and jsonb: its canonical jsonb text output. Columns,
 * in this order:
 *   audit_events:        id, occurred_at, actor_type, actor_id, action, entity_type, entity_id, request_id, before, after, court_code
 *   ledger_transactions: id, created_at, kind, court_code, invoice_id, payment_id, refund_id, source, description
 *   ledger_entries:      id, created_at, transaction_id, account, court_code, invoice_id, amount, currency
 * The verifier (src/audit/chain.ts) recomputes this in TypeScript from the columns' values.
 *
 * audit_events.court_code: the court the audited entity belongs to — given by the writer, or else
 * looked up by the trigger from the entity (a case by its number; an invoice, payment, refund or
 * reconciliation item by its public id). Null: no single court (the "global" chain).
 *
 * Existing rows are chained here, per chain in time order (ledger transaction, its entries, then
 * audit rows of the same instant, each by id), with the append-only triggers lifted for this
 * migration's transaction only.
 */
const CONTENT = {
  audit_events: `chain_field(new.id::text) || chain_field(chain_micros(new.occurred_at)) || chain_field(new.actor_type) || chain_field(new.actor_id)
      || chain_field(new.action) || chain_field(new.entity_type) || chain_field(new.entity_id) || chain_field(new.request_id)
      || chain_field(new.before::text) || chain_field(new.after::text) || chain_field(new.court_code)`,
  ledger_transactions: `chain_field(new.id::text) || chain_field(chain_micros(new.created_at)) || chain_field(new.kind) || chain_field(new.court_code)
      || chain_field(new.invoice_id::text) || chain_field(new.payment_id::text) || chain_field(new.refund_id::text) || chain_field(new.source)
      || chain_field(new.description)`,
  ledger_entries: `chain_field(new.id::text) || chain_field(chain_micros(new.created_at)) || chain_field(new.transaction_id::text) || chain_field(new.account)
      || chain_field(new.court_code) || chain_field(new.invoice_id::text) || chain_field(new.amount::text) || chain_field(new.currency::text)`,
};

const GLOBAL = 'global';

/**
 * A chain trigger's body: chain_append's steps written out in the trigger (one plpgsql call per
 * row, not two), for the chain `chain` (an expression over new) of `table`, after `prelude`.
 */
function link(chain: string, table: keyof typeof CONTENT, prelude = ''): string {
  return `declare k text; v text; s bigint; h bytea;
    begin
      ${prelude}
      k := ${chain};
      v := current_setting('courtpay.chain_' || k, true);
      if v is null or v = '' then
        -- The transaction's first append to the chain: chain_append locks the head row.
        select a.o_seq, a.o_hash into s, h from chain_append(k, '${table}', ${CONTENT[table]}) a;
      else
        s := split_part(v, ':', 1)::bigint + 1;
        h := sha256(decode(split_part(v, ':', 2), 'hex') || convert_to(chain_field('${table}') || chain_field(k) || chain_field(s::text) || ${CONTENT[table]}, 'UTF8'));
        perform set_config('courtpay.chain_' || k, s::text || ':' || encode(h, 'hex'), true);
      end if;
      new.chain_seq := s;
      new.chain_hash := h;
      return new;
    end $$;`;
}

/** The same content over the row being chained (alias n), for chaining the rows already there. */
const backfill = (content: string) => content.replaceAll('new.', 'n.');

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table chain_heads (
      chain text primary key,
      seq bigint not null default 0 check (seq >= 0),
      hash bytea not null default decode(repeat('00', 32), 'hex') check (octet_length(hash) = 32)
    );
    comment on table chain_heads is 'The last link of each hash chain (a court code, or global): locked FOR UPDATE by a transaction''s first append to the chain (held until it ends) and written at the end of each appending statement, so appends to one chain are serialised';
    comment on column chain_heads.seq is 'chain_seq of the chain''s last row (0: empty)';
    comment on column chain_heads.hash is 'chain_hash of the chain''s last row (32 zero bytes: empty)';

    create table chain_checkpoints (
      id bigint generated always as identity primary key,
      chain text not null,
      seq bigint not null,
      hash bytea not null check (octet_length(hash) = 32),
      taken_at timestamptz not null default now(),
      taken_by text not null
    );
    create index chain_checkpoints_chain_idx on chain_checkpoints (chain, seq);
    comment on table chain_checkpoints is 'Published chain heads: written (and logged) by the nightly verification once the chain verified; a later rewrite of the chain, even with every hash recomputed, no longer matches them. Append-only';
    create trigger chain_checkpoints_append_only before update or delete on chain_checkpoints
      for each row execute function reject_change();

    create function chain_field(v text) returns text language sql immutable parallel safe as
      $$ select case when v is null then '~' else octet_length(v)::text || ':' || v end $$;
    create function chain_micros(t timestamptz) returns text language sql immutable parallel safe as
      $$ select (extract(epoch from t) * 1000000)::bigint::text $$;

    -- The running head of a chain within one statement: the custom setting courtpay.chain_<chain>
    -- ("seq:hex hash", local to the transaction and undone with a rolled-back savepoint). A statement's
    -- first append locks the chain_heads row (FOR UPDATE, held until the transaction ends); its later
    -- ones read the setting; the head row is written once at the statement's end (chain_flush_all,
    -- from a statement trigger). Updating the head row on every append would leave a chain of row
    -- versions, in one transaction, that each next update walks.
    create function chain_append(k text, tbl text, content text, out o_seq bigint, out o_hash bytea) language plpgsql as $$
    declare v text := current_setting('courtpay.chain_' || k, true);
    begin
      if v is null or v = '' then
        loop
          select h.seq, h.hash into o_seq, o_hash from chain_heads h where h.chain = k for update;
          exit when found;
          insert into chain_heads (chain) values (k) on conflict do nothing;
        end loop;
      else
        o_seq := split_part(v, ':', 1)::bigint;
        o_hash := decode(split_part(v, ':', 2), 'hex');
      end if;
      o_seq := o_seq + 1;
      o_hash := sha256(o_hash || convert_to(chain_field(tbl) || chain_field(k) || chain_field(o_seq::text) || content, 'UTF8'));
      perform set_config('courtpay.chain_' || k, o_seq::text || ':' || encode(o_hash, 'hex'), true);
      if v is null or v = '' then
        perform set_config('courtpay.chains_to_flush', coalesce(current_setting('courtpay.chains_to_flush', true), '') || k || ',', true);
      end if;
    end $$;
    comment on function chain_append(text, text, text) is 'Appends one link to chain k (its head locked until the transaction ends): the next seq and hash';

    create function chain_flush(k text) returns void language plpgsql as $$
    declare v text := current_setting('courtpay.chain_' || k, true);
    begin
      if v is null or v = '' then return; end if;
      update chain_heads set seq = split_part(v, ':', 1)::bigint, hash = decode(split_part(v, ':', 2), 'hex') where chain = k;
      -- Written: a later append in this transaction reads the row again (still locked by us).
      perform set_config('courtpay.chain_' || k, '', true);
    end $$;
    comment on function chain_flush(text) is 'Writes the running head of chain k to chain_heads';
    create function chain_flush_all() returns void language plpgsql as $$
    declare k text;
    begin
      foreach k in array string_to_array(rtrim(coalesce(current_setting('courtpay.chains_to_flush', true), ''), ','), ',') loop
        perform chain_flush(k);
      end loop;
      perform set_config('courtpay.chains_to_flush', '', true);
    end $$;
    comment on function chain_flush_all() is 'Writes the running head of every chain appended to since the last flush (at the end of each inserting statement)';

    create function audit_entity_court(entity_type text, entity_id text) returns text language plpgsql stable as $$
    declare c text;
    begin
      case entity_type
        when 'case' then select court_code into c from cases where case_number = entity_id;
        when 'invoice' then select court_code into c from invoices where public_id = entity_id;
        when 'payment' then select court_code into c from payments where public_id = entity_id;
        when 'refund' then select court_code into c from refunds where public_id = entity_id;
        when 'reconciliation_item' then select court_code into c from reconciliation_items where public_id = entity_id;
        when 'reconciliation_run' then select court_code into c from reconciliation_runs where public_id = entity_id;
        else c := null;
      end case;
      return c;
    end $$;

    alter table audit_events add column court_code text references courts(code);
    comment on column audit_events.court_code is 'The court of the audited entity (writer-given, or looked up from the entity by the chain trigger); null: no single court — the global chain';
    ${Object.keys(CONTENT)
      .map(
        (t) => `alter table ${t} add column chain_seq bigint, add column chain_hash bytea;
    comment on column ${t}.chain_seq is 'Position in its chain (the court, or global for a court-less audit row), 1-based, shared by audit_events, ledger_transactions and ledger_entries';
    comment on column ${t}.chain_hash is 'SHA-256 over the previous link''s hash and this row''s canonical content (see migration 20261201100000)';`,
      )
      .join('\n    ')}
  `);

  await knex.raw(`
    alter table audit_events disable trigger audit_events_append_only;
    alter table ledger_transactions disable trigger ledger_transactions_append_only;
    alter table ledger_entries disable trigger ledger_entries_append_only;
    update audit_events set court_code = audit_entity_court(entity_type, entity_id) where court_code is null;
    -- Every court's head exists before the first append, so statements that lock several heads in order never create one mid-way.
    insert into chain_heads (chain) select code from courts union select 'global' on conflict do nothing;
    do $$
    declare r record; l record;
    begin
      for r in
        select * from (
          select 'ledger_transactions' as tbl, id, court_code as k, created_at as at, 0 as rank from ledger_transactions
          union all select 'ledger_entries', id, court_code, created_at, 1 from ledger_entries
          union all select 'audit_events', id, coalesce(court_code, 'global'), occurred_at, 2 from audit_events
        ) x order by k, at, rank, id
      loop
        if r.tbl = 'audit_events' then
          select a.* into l from audit_events n, chain_append(r.k, r.tbl, ${backfill(CONTENT.audit_events)}) a where n.id = r.id;
          update audit_events set chain_seq = l.o_seq, chain_hash = l.o_hash where id = r.id;
        elsif r.tbl = 'ledger_transactions' then
          select a.* into l from ledger_transactions n, chain_append(r.k, r.tbl, ${backfill(CONTENT.ledger_transactions)}) a where n.id = r.id;
          update ledger_transactions set chain_seq = l.o_seq, chain_hash = l.o_hash where id = r.id;
        else
          select a.* into l from ledger_entries n, chain_append(r.k, r.tbl, ${backfill(CONTENT.ledger_entries)}) a where n.id = r.id;
          update ledger_entries set chain_seq = l.o_seq, chain_hash = l.o_hash where id = r.id;
        end if;
      end loop;
    end $$;
    select chain_flush_all();
    alter table audit_events enable trigger audit_events_append_only;
    alter table ledger_transactions enable trigger ledger_transactions_append_only;
    alter table ledger_entries enable trigger ledger_entries_append_only;
  `);

  await knex.raw(`
    ${Object.keys(CONTENT)
      .map((t) => `alter table ${t} alter column chain_seq set not null, alter column chain_hash set not null;`)
      .join('\n    ')}
    create unique index audit_events_chain_idx on audit_events ((coalesce(court_code, 'global')), chain_seq);
    create unique index ledger_transactions_chain_idx on ledger_transactions (court_code, chain_seq);
    create unique index ledger_entries_chain_idx on ledger_entries (court_code, chain_seq);
    create index audit_events_court_idx on audit_events (court_code, id);

    create function audit_events_chain() returns trigger language plpgsql as $$
    ${link(`coalesce(new.court_code, '${GLOBAL}')`, 'audit_events', `if new.court_code is null then new.court_code := audit_entity_court(new.entity_type, new.entity_id); end if;`)}
    create function ledger_transactions_chain() returns trigger language plpgsql as $$
    ${link('new.court_code', 'ledger_transactions')}
    create function ledger_entries_chain() returns trigger language plpgsql as $$
    ${link('new.court_code', 'ledger_entries')}
    create function chain_flush_statement() returns trigger language plpgsql as $$
    begin
      perform chain_flush_all();
      return null;
    end $$;
    create trigger audit_events_chain before insert on audit_events for each row execute function audit_events_chain();
    create trigger ledger_transactions_chain before insert on ledger_transactions for each row execute function ledger_transactions_chain();
    create trigger ledger_entries_chain before insert on ledger_entries for each row execute function ledger_entries_chain();
    create trigger audit_events_chain_head after insert on audit_events for each statement execute function chain_flush_statement();
    create trigger ledger_transactions_chain_head after insert on ledger_transactions for each statement execute function chain_flush_statement();
    create trigger ledger_entries_chain_head after insert on ledger_entries for each statement execute function chain_flush_statement();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop trigger if exists audit_events_chain_head on audit_events;
    drop trigger if exists ledger_transactions_chain_head on ledger_transactions;
    drop trigger if exists ledger_entries_chain_head on ledger_entries;
    drop function if exists chain_flush_statement();
    drop trigger if exists audit_events_chain on audit_events;
    drop trigger if exists ledger_transactions_chain on ledger_transactions;
    drop trigger if exists ledger_entries_chain on ledger_entries;
    drop function if exists audit_events_chain();
    drop function if exists ledger_transactions_chain();
    drop function if exists ledger_entries_chain();
    drop index if exists audit_events_court_idx;
    alter table audit_events drop column if exists court_code, drop column if exists chain_seq, drop column if exists chain_hash;
    alter table ledger_transactions drop column if exists chain_seq, drop column if exists chain_hash;
    alter table ledger_entries drop column if exists chain_seq, drop column if exists chain_hash;
    drop function if exists audit_entity_court(text, text);
    drop function if exists chain_append(text, text, text);
    drop function if exists chain_flush_all();
    drop function if exists chain_flush(text);
    drop function if exists chain_micros(timestamptz);
    drop function if exists chain_field(text);
    drop table if exists chain_checkpoints;
    drop table if exists chain_heads;
  `);
}
