using Npgsql;
using Sequin.Sync.Provisioning;

namespace Sequin.Proxy.Testing;

/// <summary>
/// A Salesforce-shaped test destination built with the sync engine's own capture SQL (<see cref="CaptureSql"/>,
/// ADR 0007), so the proxy is tested against exactly what provisioning installs.
/// </summary>
internal static class CaptureSchema
{
    /// <summary>The production capture SQL (role, <c>_sequin</c>, capture function, grant helpers).</summary>
    public const string InstallFunctionSql = CaptureSql.Install;

    public static string TriggersSql(string schema, string table) => CaptureSql.Triggers($"{schema}.{table}");

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
              name text, owner_id text, created_date timestamptz, system_modstamp timestamptz, number_of_employees integer,
              _sync_inserted_at timestamptz not null default now(),
              _sync_updated_at timestamptz not null default now());
            comment on table salesforce.account is '{"sequin":{"object":"Account","source":"salesforce","sync_id":"test"}}';
            comment on column salesforce.account.name is '{"sequin":{"field":"Name","type":"string"}}';
            comment on column salesforce.account.owner_id is '{"sequin":{"field":"OwnerId","type":"reference"}}';
            comment on column salesforce.account.created_date is '{"sequin":{"field":"CreatedDate","type":"datetime"}}';
            comment on column salesforce.account.system_modstamp is '{"sequin":{"field":"SystemModstamp","type":"datetime"}}';
            comment on column salesforce.account.number_of_employees is '{"sequin":{"field":"NumberOfEmployees","type":"int"}}';
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
