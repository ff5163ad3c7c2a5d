import type { Knex } from 'knex';

/**
 * Keyed API key checksums, and the counters of the rate limits every instance shares.
 *
 * Keys issued until now carry the unkeyed checksum; they keep working, and the column says which
 * they are (its default marks every existing row, and any row an older instance writes during a
 * rolling deploy, as such). New keys are written with 'hmac_sha256'.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table api_keys add column checksum_kind text not null default 'sha256' check (checksum_kind in ('sha256', 'hmac_sha256'));
    comment on column api_keys.checksum_kind is
      'the checksum the key was issued with: hmac_sha256 (keyed with auth.keyChecksumSecret) or sha256 (unkeyed, keys issued before December 2026; accepted only for these rows)';
    create index api_keys_legacy_checksum_idx on api_keys (key_hash) where checksum_kind = 'sha256' and revoked_at is null;

    create table rate_limit_counters (
      bucket text not null check (length(bucket) between 1 and 40),
      subject text not null check (length(subject) between 1 and 100),
      hits integer not null check (hits > 0),
      window_ends_at timestamptz not null,
      primary key (bucket, subject)
    );
    comment on table rate_limit_counters is 'fixed-window counters shared by every instance: one row per limit and client, counted with one atomic upsert';
    comment on column rate_limit_counters.bucket is 'which limit: auth_failure (failed authentications), page_post (litigant page form posts)';
    comment on column rate_limit_counters.subject is 'the client address the limit counts (an IPv6 address by its /64)';
    comment on column rate_limit_counters.hits is 'hits counted in the current window; over the limit''s maximum, the subject is refused until window_ends_at';
    comment on column rate_limit_counters.window_ends_at is 'when the current window ends; the next hit after it starts a new window at 1 (expired rows are deleted from time to time)';
    create index rate_limit_counters_expired_idx on rate_limit_counters (window_ends_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop table if exists rate_limit_counters;
    drop index if exists api_keys_legacy_checksum_idx;
    alter table api_keys drop column if exists checksum_kind;
  `);
}
