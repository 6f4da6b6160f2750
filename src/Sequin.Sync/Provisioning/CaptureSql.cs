namespace Sequin.Sync.Provisioning;

/// <summary>
/// The write-capture contract of ADR 0007 as SQL, in one place, used by provisioning and by the proxy's tests:
/// the <c>sequin_sync</c> role, the <c>_sequin</c> schema with the capture function (skips the sync engine's own
/// writes, refuses writes outside the proxy and id changes, records changed rows in <c>pg_temp.sequin_capture</c>
/// while the proxy has armed it (<c>sequin.capture = 'armed:&lt;xid&gt;'</c>, transaction-local)
/// and deleted ids in <c>_sequin.tombstone</c>) and the grant helpers for proxy backend and read-only roles. Idempotent.
/// </summary>
public static class CaptureSql
{
    /// <summary>Creates or replaces the role, schema, capture function and grant helpers of a destination database.</summary>
    public const string Install = """
        do $$ begin
          if not exists (select from pg_roles where rolname = 'sequin_sync') then
            create role sequin_sync nologin;
          end if;
        exception when duplicate_object or unique_violation then null;
        end $$;
        create schema if not exists _sequin;
        -- Deletes made through the proxy, so a sync poll that read a record just before the delete committed does not
        -- upsert it back (PageLoader removes a loaded row whose version is not newer than its tombstone). Only the
        -- owner (the sync engine) reads or writes the table; the capture trigger records deletes through
        -- _sequin.record_deletes (security definer), which accepts only calls from a trigger, for tables the session's
        -- role may delete from, and ids no longer in the table — a client cannot make the sync drop a live row.
        create table if not exists _sequin.tombstone (
          table_oid  oid not null,
          id         text not null,
          deleted_at timestamptz not null default clock_timestamp()
        );
        create index if not exists tombstone_table_id on _sequin.tombstone (table_oid, id);
        alter table _sequin.tombstone enable row level security;
        drop policy if exists proxy_deletes on _sequin.tombstone;
        revoke all on _sequin.tombstone from public;
        create or replace function _sequin.record_deletes(p_table oid, p_ids text[]) returns void
          language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
        begin
          if pg_trigger_depth() < 1 or not has_table_privilege(session_user, p_table, 'DELETE') then
            raise exception using errcode = '42501', message = 'deletes are recorded by the Sequin capture trigger only';
          end if;
          execute format('insert into _sequin.tombstone (table_oid, id) select $1, d.id from unnest($2) as d(id) '
                         'where not exists (select from %s t where t.id = d.id)', p_table::regclass)
            using p_table, p_ids;
        end $$;
        grant usage on schema _sequin to public;
        delete from _sequin.tombstone where deleted_at < now() - interval '1 hour';
        create or replace function _sequin.capture() returns trigger language plpgsql as $$
        declare
          mode text;
        begin
          if current_setting('sequin.origin', true) = 'sync' and pg_has_role(session_user, 'sequin_sync', 'member') then
            return null;
          end if;
          -- Armed by the proxy around the statements it wraps, with a transaction-local setting that names the
          -- transaction ('armed:<xid>'): any write it did not see fails closed here, and neither a SET by hand in
          -- another transaction nor a role or database default can arm a session. 'write-back:<xid>' is the proxy
          -- storing what the upstream accepted (ids, upstream-set values) or dropping a sync's early copy of a record
          -- it created: the id rules below still hold, but nothing is captured and no delete is tombstoned (the record
          -- exists upstream).
          mode := case current_setting('sequin.capture', true)
                    when 'armed:' || pg_current_xact_id() then 'armed'
                    when 'write-back:' || pg_current_xact_id() then 'write-back'
                  end;
          if mode is null or (mode = 'armed' and to_regclass('pg_temp.sequin_capture') is null) then
            raise exception using errcode = '42501',
              message = format('writes to %I.%I must go through the Sequin proxy', tg_table_schema, tg_table_name),
              hint = 'Connect with the proxy URL from the connection instructions; direct connections are read-only.';
          end if;
          if tg_op = 'INSERT' then
            -- The source assigns ids: a row inserted with one of its own would be created upstream under another id.
            if exists (select from new_rows n where n.id not like '\_sequin\_tmp\_%') then
              raise exception using errcode = '42501',
                message = format('the id of %I.%I is assigned by the source and cannot be set', tg_table_schema, tg_table_name),
                hint = 'Leave id out of the INSERT (RETURNING id gives the upstream id back); to change an existing row, UPDATE it or use INSERT … ON CONFLICT (id) DO UPDATE.';
            end if;
            if mode = 'write-back' then
              return null;
            end if;
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
            if mode = 'write-back' then
              return null;
            end if;
            insert into pg_temp.sequin_capture (table_oid, op, old_row, new_row)
              select tg_relid, 'U', to_jsonb(o), to_jsonb(n) from old_rows o join new_rows n on n.id = o.id;
          elsif mode = 'armed' then
            insert into pg_temp.sequin_capture (table_oid, op, old_row, new_row)
              select tg_relid, 'D', to_jsonb(o), null from old_rows o;
            -- Rolled back with the statement if the upstream rejects it; honoured by the sync's loads (see above).
            -- A client that turns it off (set sequin.tombstones = off) only loses its own deletes' protection.
            if current_setting('sequin.tombstones', true) is distinct from 'off' then
              perform _sequin.record_deletes(tg_relid, array(select o.id from old_rows o));
            end if;
          end if;
          return null;
        end $$;
        -- Role helpers (ADR 0007 "Roles and grants"): the proxy backend role may read and write the synced tables of a
        -- schema; a direct-access role may only read them. Default privileges cover tables provisioned later.
        create or replace function _sequin.grant_proxy_backend(p_schema text, p_role text) returns void language plpgsql as $$
        declare t record;
        begin
          execute format('grant usage on schema %I to %I', p_schema, p_role);
          for t in select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
                   where n.nspname = p_schema and c.relkind = 'r' and c.relname <> '_sync' loop
            execute format('grant select, insert, update, delete on %I.%I to %I', p_schema, t.relname, p_role);
          end loop;
          execute format('grant select on %I._sync to %I', p_schema, p_role);
          execute format('alter default privileges in schema %I grant select, insert, update, delete on tables to %I', p_schema, p_role);
        end $$;
        create or replace function _sequin.grant_read_only(p_schema text, p_role text) returns void language plpgsql as $$
        begin
          execute format('grant usage on schema %I to %I', p_schema, p_role);
          execute format('grant select on all tables in schema %I to %I', p_schema, p_role);
          execute format('alter default privileges in schema %I grant select on tables to %I', p_schema, p_role);
        end $$;
        -- _sequin is visible to every role (for the tombstone insert); its grant helpers are for the engine alone.
        revoke execute on function _sequin.grant_proxy_backend(text, text), _sequin.grant_read_only(text, text) from public;
        """;

    /// <summary>The statement-level AFTER triggers (with transition tables) that capture writes to one synced table.</summary>
    public static string Triggers(string qualifiedTable) => $"""
        create or replace trigger sequin_capture_insert after insert on {qualifiedTable} referencing new table as new_rows
          for each statement execute function _sequin.capture();
        create or replace trigger sequin_capture_update after update on {qualifiedTable} referencing old table as old_rows new table as new_rows
          for each statement execute function _sequin.capture();
        create or replace trigger sequin_capture_delete after delete on {qualifiedTable} referencing old table as old_rows
          for each statement execute function _sequin.capture();
        """;
}
