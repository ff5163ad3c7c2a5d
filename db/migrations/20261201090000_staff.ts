import type { Knex } from 'knex';

/**
 * Court staff as people: accounts, browser sessions, and API keys that act for a person.
 *
 * - `staff`: one row per person, court-scoped as api_keys are (all_courts, or a list of codes).
 *   A password hash is argon2id, or null until the person sets one through a one-time link (and
 *   for people who will only sign in through the courts' identity provider).
 * - `staff_sessions`: a browser session, keyed by the sha256 of the cookie's token (the token
 *   itself is never stored), shared by every instance. It ends at `expires_at` (absolute), after
 *   the idle timeout since `last_seen_at`, or when `ended_at` is set (sign-out, a disabled person).
 * - `api_keys.owner_staff_id`: the person a key acts for; null for a machine (a case system).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table staff (
      id bigint generated always as identity primary key,
      login text not null unique check (login ~ '^[a-z0-9][a-z0-9._-]{1,63}$'),
      name text not null check (length(name) between 1 and 200),
      roles text[] not null check (cardinality(roles) > 0 and roles <@ array['clerk', 'approver', 'finance', 'admin']::text[]),
      all_courts boolean not null default false,
      court_codes text[] not null default '{}',
      active boolean not null default true,
      password_hash text,
      set_password_token_hash text unique,
      set_password_expires_at timestamptz,
      failed_attempts integer not null default 0 check (failed_attempts >= 0),
      locked_until timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      check (all_courts or cardinality(court_codes) > 0),
      check ((set_password_token_hash is null) = (set_password_expires_at is null))
    );
    comment on table staff is 'Court staff who sign in as themselves (clerks, approvers, finance officers, admins); audit rows name them as actor staff:<login>';
    comment on column staff.login is 'lower-case, unique and never changed: the person''s name in audit rows and the API path';
    comment on column staff.roles is 'one or more of clerk, approver, finance, admin; a route allowed to any of them is allowed to the person';
    comment on column staff.all_courts is 'true: every court; else court_codes lists them (as api_keys)';
    comment on column staff.active is 'false: disabled; cannot sign in, sessions ended, owned API keys refused';
    comment on column staff.password_hash is 'argon2id (PHC string); null until set through the one-time link';
    comment on column staff.set_password_token_hash is 'sha256 of the one-time set-password link''s token (the link is shown once, never stored); cleared once used';
    comment on column staff.set_password_expires_at is 'the set-password link works until then';
    comment on column staff.failed_attempts is 'failed sign-ins since the last success or lock; at staff.maxFailedSignIns the login is locked';
    comment on column staff.locked_until is 'sign-in refused (even with the right password) until then';

    create table staff_sessions (
      id text primary key check (id ~ '^[0-9a-f]{64}$'),
      staff_id bigint not null references staff(id),
      csrf_token text not null,
      created_at timestamptz not null,
      last_seen_at timestamptz not null,
      expires_at timestamptz not null,
      ended_at timestamptz,
      ended_reason text check (ended_reason in ('signed_out', 'staff_disabled', 'staff_changed', 'password_set', 'idle', 'expired')),
      check (expires_at > created_at),
      check ((ended_at is null) = (ended_reason is null))
    );
    create index staff_sessions_staff_idx on staff_sessions (staff_id) where ended_at is null;
    comment on table staff_sessions is 'Browser sessions of staff, in Postgres so every instance sees sign-out at once';
    comment on column staff_sessions.id is 'sha256 (hex) of the session cookie''s token; the token itself is never stored';
    comment on column staff_sessions.csrf_token is 'the synchronizer token every state-changing form of the session must carry';
    comment on column staff_sessions.last_seen_at is 'last request on the session (written at most every minute or so): the idle timeout runs from it';
    comment on column staff_sessions.expires_at is 'absolute end (staff.sessionMaxHours after sign-in), however active';
    comment on column staff_sessions.ended_at is 'set when the session ended before expiring (ended_reason says why); an ended session is never accepted again';

    alter table api_keys add column owner_staff_id bigint references staff(id);
    comment on column api_keys.owner_staff_id is 'the person the key acts for (maker-checker counts the person); null for a machine such as a case system. A disabled owner''s keys are refused';
    create index api_keys_owner_idx on api_keys (owner_staff_id) where owner_staff_id is not null;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop index if exists api_keys_owner_idx;
    alter table api_keys drop column if exists owner_staff_id;
    drop table if exists staff_sessions;
    drop table if exists staff;
  `);
}
