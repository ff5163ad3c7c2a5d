import type { Knex } from 'knex';

/**
 * What applying a processor observation in one statement needs (src/payments/settle-statement.ts):
 * - courtpay_require raises serialization_failure (40001) when a compare-and-set inside the
 *   statement found the payment or invoice changed since it was read, so the whole statement —
 *   the inbox claim with it — rolls back and the caller applies the event again under row locks;
 * - an index on payments.charge_id, the last reference a dispute or an event can point at us by.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create function courtpay_require(ok boolean, message text) returns boolean language plpgsql as $$
    begin
      if ok is not true then
        raise exception '%', message using errcode = '40001';
      end if;
      return true;
    end $$;
    comment on function courtpay_require(boolean, text) is 'Aborts the statement with 40001 unless ok: a compare-and-set inside it lost a race';
    create index if not exists payments_charge_idx on payments (charge_id) where charge_id is not null;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop index if exists payments_charge_idx;
    drop function if exists courtpay_require(boolean, text);
  `);
}
