using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Sequin.Sources;
using Sequin.Sync.Engine;
using Sequin.Sync.Provisioning;
using Shouldly;

namespace Sequin.Sync.Tests;

/// <summary>Provisioning implements ADR 0007: table shape, comments, indexes, triggers, roles; schema evolution keeps rows.</summary>
public sealed class ProvisioningTests
{
    private static readonly Guid SyncId = Guid.Parse("0193a000-0000-7000-8000-000000000001");
    private readonly DestinationProvisioner _provisioner = new(NullLogger<DestinationProvisioner>.Instance);

    private static SourceObject Contact(params SourceField[] extra) => new("Contact", "Id", "SystemModstamp",
    [
        new("Id", "id", FieldKind.Text, false, false, false),
        new("SystemModstamp", "datetime", FieldKind.Timestamp, false, false, false),
        new("FirstName", "string", FieldKind.Text, false, true, true),
        new("AccountId", "reference", FieldKind.Text, true, true, true),
        new("NumberOfEmployees", "int", FieldKind.Integer, false, true, true),
        .. extra,
    ]);

    private async Task<(string Destination, NpgsqlDataSource Sync)> ProvisionAsync(SourceObject describe, IReadOnlyCollection<string>? selected = null)
    {
        var destination = await Destination.CreateAsync();
        var sync = SyncRunner.OpenDestination(destination);
        await using var connection = await sync.OpenConnectionAsync();
        await _provisioner.EnsureSchemaAsync(connection, "salesforce", default);
        await _provisioner.EnsureTableAsync(connection, TableModel.Build("salesforce", "contact", "salesforce", SyncId, describe, selected), default);
        return (destination, sync);
    }

    [Theory]
    [InlineData("Contact", "contact")]
    [InlineData("OpportunityLineItem", "opportunity_line_item")]
    [InlineData("FirstName", "first_name")]
    [InlineData("AccountId", "account_id")]
    [InlineData("SystemModstamp", "system_modstamp")]
    [InlineData("Invoice__c", "invoice__c")]
    [InlineData("Line_Item__c", "line_item__c")]
    [InlineData("HTMLBody", "html_body")]
    [InlineData("Address2Line", "address2_line")]
    public void SnakeCase_FollowsTheAdr(string name, string expected) => Naming.SnakeCase(name).ShouldBe(expected);

    [Fact]
    public async Task Table_HasAdrShape_CommentsIndexesTriggersAndStatusRow()
    {
        var (destination, sync) = await ProvisionAsync(Contact());
        await using var _ = sync;
        var columns = await Destination.ScalarAsync<string>(destination,
            "select string_agg(column_name || ':' || data_type, ',' order by ordinal_position) from information_schema.columns where table_schema = 'salesforce' and table_name = 'contact'");
        columns.ShouldBe("id:text,system_modstamp:timestamp with time zone,first_name:text,account_id:text,number_of_employees:integer,_sync_inserted_at:timestamp with time zone,_sync_updated_at:timestamp with time zone");
        (await Destination.ScalarAsync<string>(destination, "select column_default from information_schema.columns where table_schema = 'salesforce' and table_name = 'contact' and column_name = 'id'"))
            .ShouldContain("_sequin_tmp_");
        (await Destination.ScalarAsync<string>(destination, "select obj_description('salesforce.contact'::regclass) ::jsonb -> 'sequin' ->> 'object'")).ShouldBe("Contact");
        (await Destination.ScalarAsync<string>(destination, "select col_description('salesforce.contact'::regclass, 2)::jsonb -> 'sequin' ->> 'field'")).ShouldBe("SystemModstamp");
        (await Destination.ScalarAsync<long>(destination, "select count(*) from pg_indexes where schemaname = 'salesforce' and tablename = 'contact' and indexdef like '%(account_id)%'")).ShouldBe(1);
        (await Destination.ScalarAsync<long>(destination, "select count(*) from pg_trigger where tgrelid = 'salesforce.contact'::regclass and tgname like 'sequin_capture_%'")).ShouldBe(3);
        (await Destination.ScalarAsync<string>(destination, "select state from salesforce._sync where table_name = 'contact'")).ShouldBe("backfilling");
    }

    [Fact]
    public async Task CaptureTrigger_LetsTheSyncWrite_AndRefusesOthers()
    {
        var (destination, sync) = await ProvisionAsync(Contact());
        await using var _ = sync;
        await using (var cmd = sync.CreateCommand("insert into salesforce.contact (id, first_name) values ('003A', 'Ada')"))
        {
            (await cmd.ExecuteNonQueryAsync()).ShouldBe(1);
        }

        var role = "writer_" + Guid.NewGuid().ToString("N")[..8];
        await using (var admin = new NpgsqlConnection(destination))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"create role {role} login password 'pw'; select _sequin.grant_proxy_backend('salesforce', '{role}')", admin);
            await create.ExecuteNonQueryAsync();
        }

        var direct = new NpgsqlConnectionStringBuilder(destination) { Username = role, Password = "pw", Options = "-c sequin.origin=sync" };
        await using var other = new NpgsqlConnection(direct.ConnectionString);
        await other.OpenAsync();
        await using var write = new NpgsqlCommand("update salesforce.contact set first_name = 'Eve'", other);
        var e = await Should.ThrowAsync<PostgresException>(() => write.ExecuteNonQueryAsync());
        e.SqlState.ShouldBe("42501");
        e.MessageText.ShouldContain("must go through the Sequin proxy");
        // The capture table alone is not enough: the proxy arms it around the statements it wraps, naming the
        // transaction — a session-level SET (or a role default) arms nothing.
        await using var unarmed = new NpgsqlCommand("""
            create temp table sequin_capture (seq bigserial, table_oid oid not null, op "char" not null, old_row jsonb, new_row jsonb);
            set sequin.capture = 'armed';
            update salesforce.contact set first_name = 'Eve';
            """, other);
        (await Should.ThrowAsync<PostgresException>(() => unarmed.ExecuteNonQueryAsync())).SqlState.ShouldBe("42501");
        await using (var reset = new NpgsqlCommand("reset sequin.capture", other))
        {
            await reset.ExecuteNonQueryAsync();
        }

        // Write-back mode captures nothing but keeps the id rules.
        await using var writeBack = new NpgsqlCommand("""
            do $$ begin perform set_config('sequin.capture', 'write-back:' || pg_current_xact_id(), true); end $$;
            update salesforce.contact set id = '003Z' where id = '003A';
            """, other);
        (await Should.ThrowAsync<PostgresException>(() => writeBack.ExecuteNonQueryAsync())).MessageText.ShouldContain("cannot be changed");

        await using var temp = new NpgsqlCommand("""
            create temp table sequin_capture (seq bigserial, table_oid oid not null, op "char" not null, old_row jsonb, new_row jsonb);
            do $$ begin perform set_config('sequin.capture', 'armed:' || pg_current_xact_id(), true); end $$;
            update salesforce.contact set first_name = 'Eve';
            select count(*) from pg_temp.sequin_capture where op = 'U' and new_row ->> 'first_name' = 'Eve'
            """, other);
        (await temp.ExecuteScalarAsync()).ShouldBe(1L);
    }

    [Fact]
    public async Task Evolution_AddsDropsAndRetypesColumns_WithoutLosingRows()
    {
        var (destination, sync) = await ProvisionAsync(Contact());
        await using var _ = sync;
        await using (var cmd = sync.CreateCommand("insert into salesforce.contact (id, first_name, number_of_employees) select 'id' || i, 'n' || i, i from generate_series(1, 100) i"))
        {
            await cmd.ExecuteNonQueryAsync();
        }

        // Upstream: NumberOfEmployees became a string (castable), FirstName deselected, a new Title field selected.
        var evolved = new SourceObject("Contact", "Id", "SystemModstamp",
        [
            new("Id", "id", FieldKind.Text, false, false, false),
            new("SystemModstamp", "datetime", FieldKind.Timestamp, false, false, false),
            new("FirstName", "string", FieldKind.Text, false, true, true),
            new("AccountId", "reference", FieldKind.Text, true, true, true),
            new("NumberOfEmployees", "string", FieldKind.Text, false, true, true),
            new("Title", "string", FieldKind.Text, false, true, true),
        ]);
        await using var connection = await sync.OpenConnectionAsync();
        var existing = await DestinationProvisioner.ReadFieldColumnsAsync(connection, "salesforce", "contact", default);
        var result = await _provisioner.EnsureTableAsync(connection,
            TableModel.Build("salesforce", "contact", "salesforce", SyncId, evolved, ["AccountId", "NumberOfEmployees", "Title"], existing), default);
        result.NeedsResync.ShouldBeTrue();
        result.Changes.ShouldContain("dropped first_name");
        result.Changes.ShouldContain("added title text");
        (await Destination.ScalarAsync<long>(destination, "select count(*) from salesforce.contact where number_of_employees = '42'")).ShouldBe(1);
        (await Destination.ScalarAsync<long>(destination, "select count(*) from salesforce.contact")).ShouldBe(100);

        // And back to integer, where one value no longer casts: the column is re-created, rows stay.
        await using (var cmd = sync.CreateCommand("update salesforce.contact set number_of_employees = 'many' where id = 'id1'"))
        {
            await cmd.ExecuteNonQueryAsync();
        }

        existing = await DestinationProvisioner.ReadFieldColumnsAsync(connection, "salesforce", "contact", default);
        result = await _provisioner.EnsureTableAsync(connection,
            TableModel.Build("salesforce", "contact", "salesforce", SyncId, Contact(), ["AccountId", "NumberOfEmployees"], existing), default);
        result.NeedsResync.ShouldBeTrue();
        result.Changes.ShouldContain(c => c.StartsWith("re-created number_of_employees as integer"));
        (await Destination.ScalarAsync<long>(destination, "select count(*) from salesforce.contact")).ShouldBe(100);
        (await Destination.ScalarAsync<long>(destination, "select count(*) from pg_trigger where tgrelid = 'salesforce.contact'::regclass and tgname like 'sequin_capture_%'")).ShouldBe(3);
    }

    [Fact]
    public async Task Evolution_ColumnAViewDependsOn_IsRefusedAndNothingOfTheChangeIsApplied()
    {
        var (destination, sync) = await ProvisionAsync(Contact());
        await using var _ = sync;
        await using (var cmd = sync.CreateCommand("insert into salesforce.contact (id, first_name, number_of_employees) select 'id' || i, 'n' || i, i from generate_series(1, 10) i"))
        {
            await cmd.ExecuteNonQueryAsync();
        }

        await using (var admin = new NpgsqlConnection(destination))
        {
            await admin.OpenAsync();
            await using var cmd = new NpgsqlCommand("""
                create view public.first_names as select id, first_name from salesforce.contact;
                create view public.sizes as select id, number_of_employees from salesforce.contact;
                """, admin);
            await cmd.ExecuteNonQueryAsync();
        }

        await using var connection = await sync.OpenConnectionAsync();
        async Task<SchemaChangeBlockedException> RefusedAsync(SourceObject describe, string[] selected)
        {
            var existing = await DestinationProvisioner.ReadFieldColumnsAsync(connection, "salesforce", "contact", default);
            return await Should.ThrowAsync<SchemaChangeBlockedException>(() => _provisioner.EnsureTableAsync(connection,
                TableModel.Build("salesforce", "contact", "salesforce", SyncId, describe, selected, existing), default));
        }

        // FirstName deselected (a view uses it) while Title is newly selected: neither happens.
        var title = new SourceField("Title", "string", FieldKind.Text, false, true, true);
        (await RefusedAsync(Contact(title), ["AccountId", "NumberOfEmployees", "Title"])).Message
            .ShouldStartWith("schema change not applied: FirstName is no longer synced, but column first_name cannot be dropped");
        // NumberOfEmployees became text upstream (a view uses the column).
        var retyped = new SourceObject("Contact", "Id", "SystemModstamp",
        [
            new("Id", "id", FieldKind.Text, false, false, false),
            new("SystemModstamp", "datetime", FieldKind.Timestamp, false, false, false),
            new("FirstName", "string", FieldKind.Text, false, true, true),
            new("AccountId", "reference", FieldKind.Text, true, true, true),
            new("NumberOfEmployees", "string", FieldKind.Text, false, true, true),
        ]);
        (await RefusedAsync(retyped, ["FirstName", "AccountId", "NumberOfEmployees"])).Message
            .ShouldContain("NumberOfEmployees changed type upstream (integer -> text), but column number_of_employees cannot be changed");

        (await Destination.ScalarAsync<string>(destination,
            "select string_agg(column_name || ':' || data_type, ',' order by ordinal_position) from information_schema.columns where table_schema = 'salesforce' and table_name = 'contact'"))
            .ShouldBe("id:text,system_modstamp:timestamp with time zone,first_name:text,account_id:text,number_of_employees:integer,_sync_inserted_at:timestamp with time zone,_sync_updated_at:timestamp with time zone");
        (await Destination.ScalarAsync<long>(destination, "select count(*) from public.first_names join public.sizes using (id)")).ShouldBe(10);
    }
}
