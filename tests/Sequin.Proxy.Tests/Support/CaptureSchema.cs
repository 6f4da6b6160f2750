using Npgsql;

namespace Sequin.Proxy.Testing;

/// <summary>
/// The synced-table contract of ADR 0007 as SQL, in one place: the <c>_sequin</c> schema with the capture
/// function, the capture triggers of a table, and the roles/grants. Stands in for the sync engine's provisioning
/// (issue 4) until that installer is wired in; swap this helper for it then.
/// </summary>
internal static class CaptureSchema
{
    public const string InstallFunctionSql = """
        do $$ begin
          if not exists (select from pg_roles where rolname = 'sequin_sync') then create role sequin_sync nologin; end if;
        exception when duplicate_object or unique_violation then null;
        end $$;
        create schema if not exists _sequin;
        create or replace function _sequin.capture() returns trigger language plpgsql as $fn$
        begin
          if current_setting('sequin.origin', true) = 'sync' and pg_has_role(session_user, 'sequin_sync', 'member') then
            return null;
          end if;
          if to_regclass('pg_temp.sequin_capture') is null then
            raise exception using errcode = '42501',
              message = format('writes to %I.%I must go through the Sequin proxy', tg_table_schema, tg_table_name),
              hint = 'Connect with the proxy URL from the connection instructions; direct connections are read-only.';
          end if;
          if tg_op = 'INSERT' then
            insert into pg_temp.sequin_capture (table_oid, op, old_row, new_row)
              select tg_relid, 'I', null, to_jsonb(n) from new_rows n;
          elsif tg_op = 'UPDATE' then
            -- Old and new rows pair by id: a changed id would escape the capture. Only the proxy's write-back
            -- of upstream-assigned ids (from temporary ids) may change it.
            if exists (select from old_rows o where o.id not like '\_sequin\_tmp\_%'
                       and not exists (select from new_rows n where n.id = o.id)) then
              raise exception using errcode = '42501',
                message = format('the id of %I.%I is assigned by the source and cannot be changed', tg_table_schema, tg_table_name);
            end if;
            insert into pg_temp.sequin_capture (table_oid, op, old_row, new_row)
              select tg_relid, 'U', to_jsonb(o), to_jsonb(n) from old_rows o join new_rows n on n.id = o.id;
          else
            insert into pg_temp.sequin_capture (table_oid, op, old_row, new_row)
              select tg_relid, 'D', to_jsonb(o), null from old_rows o;
          end if;
          return null;
        end $fn$;
        """;

    public static string TriggersSql(string schema, string table) => $"""
        create trigger sequin_capture_insert after insert on {schema}.{table} referencing new table as new_rows
          for each statement execute function _sequin.capture();
        create trigger sequin_capture_update after update on {schema}.{table} referencing old table as old_rows new table as new_rows
          for each statement execute function _sequin.capture();
        create trigger sequin_capture_delete after delete on {schema}.{table} referencing old table as old_rows
          for each statement execute function _sequin.capture();
        """;

    /// <summary>
    /// A Salesforce-shaped destination: <c>salesforce.contact</c> and <c>salesforce.account</c> with ADR 0007
    /// comments and triggers; <paramref name="backendRole"/> may write (through the proxy), <paramref name="readerRole"/>
    /// may only read. Roles are created with the given password when missing.
    /// </summary>
    public static async Task InstallSalesforceAsync(NpgsqlConnection admin, string backendRole, string readerRole, string password)
    {
        var sql = InstallFunctionSql + $$$"""

            create role "{{{backendRole}}}" login password '{{{password}}}';
            create role "{{{readerRole}}}" login password '{{{password}}}';
            create schema salesforce;
            create table salesforce.contact (
              id text primary key default ('_sequin_tmp_' || gen_random_uuid()),
              first_name text, last_name text, email text, account_id text, title text,
              _sync_inserted_at timestamptz not null default now(),
              _sync_updated_at timestamptz not null default now());
            create unique index contact_email_key on salesforce.contact (email);
            create index contact_account_id_idx on salesforce.contact (account_id);
            comment on table salesforce.contact is '{"sequin":{"object":"Contact","source":"salesforce","sync_id":"test"}}';
            comment on column salesforce.contact.first_name is '{"sequin":{"field":"FirstName","type":"string"}}';
            comment on column salesforce.contact.last_name is '{"sequin":{"field":"LastName","type":"string"}}';
            comment on column salesforce.contact.email is '{"sequin":{"field":"Email","type":"email"}}';
            comment on column salesforce.contact.account_id is '{"sequin":{"field":"AccountId","type":"reference"}}';
            comment on column salesforce.contact.title is '{"sequin":{"field":"Title","type":"string"}}';
            create table salesforce.account (
              id text primary key default ('_sequin_tmp_' || gen_random_uuid()),
              name text,
              _sync_inserted_at timestamptz not null default now(),
              _sync_updated_at timestamptz not null default now());
            comment on table salesforce.account is '{"sequin":{"object":"Account","source":"salesforce","sync_id":"test"}}';
            comment on column salesforce.account.name is '{"sequin":{"field":"Name","type":"string"}}';
            {{{TriggersSql("salesforce", "contact")}}}
            {{{TriggersSql("salesforce", "account")}}}
            create table public.notes (id serial primary key, body text);
            grant usage on schema salesforce to "{{{backendRole}}}", "{{{readerRole}}}";
            grant select, insert, update, delete on all tables in schema salesforce to "{{{backendRole}}}";
            grant select on all tables in schema salesforce to "{{{readerRole}}}";
            grant all on table public.notes to "{{{backendRole}}}";
            grant usage on sequence public.notes_id_seq to "{{{backendRole}}}";
            """;
        await using var command = new NpgsqlCommand(sql, admin);
        await command.ExecuteNonQueryAsync();
    }
}
