using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Sequin.Sources;
using Sequin.Sync.Engine;
using Sequin.Sync.Loading;
using Sequin.Sync.Provisioning;
using Shouldly;

namespace Sequin.Sync.Tests;

/// <summary>A page and its cursor commit together or not at all.</summary>
public sealed class PageLoaderTests
{
    private static readonly SourceObject Contact = new("Contact", "Id", "SystemModstamp",
    [
        new("Id", "id", FieldKind.Text, false, false, false),
        new("SystemModstamp", "datetime", FieldKind.Timestamp, false, false, false),
        new("LastName", "string", FieldKind.Text, false, true, true),
        new("NumberOfEmployees", "int", FieldKind.Integer, false, true, true),
    ]);

    private static async Task<(string Destination, TableModel Model)> ProvisionAsync()
    {
        var destination = await Destination.CreateAsync();
        await using var sync = SyncRunner.OpenDestination(destination);
        await using var connection = await sync.OpenConnectionAsync();
        var provisioner = new DestinationProvisioner(NullLogger<DestinationProvisioner>.Instance);
        await provisioner.EnsureSchemaAsync(connection, "salesforce", default);
        var model = TableModel.Build("salesforce", "contact", "salesforce", Guid.Empty, Contact, null);
        await provisioner.EnsureTableAsync(connection, model, default);
        return (destination, model);
    }

    private static SourceRecord Record(string id, DateTime version, string name, object? employees) =>
        new(id, [version, name, employees], version);

    [Fact]
    public async Task FailingPage_CommitsNeitherRowsNorCursor()
    {
        var (destination, model) = await ProvisionAsync();
        await using var sync = SyncRunner.OpenDestination(destination);
        var t0 = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        await PageLoader.LoadAsync(sync, model, [Record("003A", t0, "Ada", 1)], [], new CursorUpdate("backfilling", "cursor-1", null, null), false, default);

        // The second page breaks half-way through the COPY (a value of the wrong CLR type for its column).
        var bad = new[] { Record("003B", t0, "Bob", 2), Record("003C", t0, "Cy", "not an int") };
        await Should.ThrowAsync<Exception>(() => PageLoader.LoadAsync(sync, model, bad, ["003A"], new CursorUpdate("backfilling", "cursor-2", null, null), false, default));

        (await Destination.ScalarAsync<string>(destination, "select cursor from salesforce._sync where table_name = 'contact'")).ShouldBe("cursor-1");
        (await Destination.ScalarAsync<string>(destination, "select string_agg(id, ',' order by id) from salesforce.contact")).ShouldBe("003A");
        (await Destination.ScalarAsync<long>(destination, "select rows from salesforce._sync where table_name = 'contact'")).ShouldBe(1);
    }

    [Fact]
    public async Task OlderVersion_DoesNotOverwriteNewer_AndReplaysAreIdempotent()
    {
        var (destination, model) = await ProvisionAsync();
        await using var sync = SyncRunner.OpenDestination(destination);
        var t0 = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        await PageLoader.LoadAsync(sync, model, [Record("003A", t0.AddSeconds(10), "New", 1)], [], new CursorUpdate("live", "c1", null, null), true, default);
        var replay = await PageLoader.LoadAsync(sync, model, [Record("003A", t0, "Old", 1), Record("003A", t0.AddSeconds(10), "New", 1)], [],
            new CursorUpdate("live", "c2", null, null), true, default);
        replay.Inserted.ShouldBe(0);
        replay.Updated.ShouldBe(0);
        (await Destination.ScalarAsync<string>(destination, "select last_name from salesforce.contact where id = '003A'")).ShouldBe("New");
        (await Destination.ScalarAsync<long>(destination, "select rows from salesforce._sync where table_name = 'contact'")).ShouldBe(1);
    }

    [Fact]
    public async Task DirectCopy_InsertsNewRows_AndFallsBackToTheUpsertWhenAnIdExists()
    {
        var (destination, model) = await ProvisionAsync();
        await using var sync = SyncRunner.OpenDestination(destination);
        var t0 = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var first = await PageLoader.LoadAsync(sync, model, [Record("003A", t0, "Ada", 1), Record("003B", t0, "Bob", 2)], [],
            new CursorUpdate("backfilling", "c1", null, null), false, default, copyDirect: true);
        first.ShouldBe(new LoadResult(2, 0, 0));

        // 003B is already there (say, re-read after a restart): the COPY is rolled back and the page upserted instead.
        var second = await PageLoader.LoadAsync(sync, model, [Record("003B", t0.AddSeconds(1), "Bo", 2), Record("003C", t0, "Cy", 3)], [],
            new CursorUpdate("backfilling", "c2", null, null), false, default, copyDirect: true);
        second.ShouldBe(new LoadResult(1, 1, 0, Conflict: true));
        (await Destination.ScalarAsync<string>(destination, "select string_agg(id || '=' || last_name, ',' order by id) from salesforce.contact")).ShouldBe("003A=Ada,003B=Bo,003C=Cy");
        (await Destination.ScalarAsync<string>(destination, "select cursor from salesforce._sync where table_name = 'contact'")).ShouldBe("c2");
        (await Destination.ScalarAsync<long>(destination, "select rows from salesforce._sync where table_name = 'contact'")).ShouldBe(3);

        // A direct page that breaks half-way commits neither rows nor cursor.
        await Should.ThrowAsync<Exception>(() => PageLoader.LoadAsync(sync, model, [Record("003D", t0, "Di", 4), Record("003E", t0, "Ed", "not an int")], [],
            new CursorUpdate("backfilling", "c3", null, null), false, default, copyDirect: true));
        (await Destination.ScalarAsync<string>(destination, "select cursor from salesforce._sync where table_name = 'contact'")).ShouldBe("c2");
        (await Destination.ScalarAsync<long>(destination, "select count(*) from salesforce.contact")).ShouldBe(3);
    }

    /// <summary>
    /// A DELETE through the proxy (the proxy's backend role, capture armed) leaves a tombstone; a page read before the
    /// delete and loaded after it (the race of a poll with the proxy) does not bring the row back, whichever way it
    /// loads, while a record restored upstream later (newer version) does come back.
    /// </summary>
    [Fact]
    public async Task RowDeletedThroughTheProxy_IsNotUpsertedBackByAPageReadBeforeTheDelete()
    {
        var (destination, model) = await ProvisionAsync();
        await using var sync = SyncRunner.OpenDestination(destination);
        var t0 = DateTime.UtcNow.AddMinutes(-5);
        t0 = new DateTime(t0.Ticks - t0.Ticks % TimeSpan.TicksPerMillisecond, DateTimeKind.Utc);
        await PageLoader.LoadAsync(sync, model, [Record("003A", t0, "Ada", 1), Record("003B", t0, "Bob", 2), Record("003C", t0, "Cy", 3)], [],
            new CursorUpdate("live", "c1", null, null), false, default);

        var role = "proxy_" + Guid.NewGuid().ToString("N")[..8];
        await Destination.ScalarAsync<object>(destination,
            $"create role {role} login password 'pw'; select _sequin.grant_proxy_backend('salesforce', '{role}')");
        var proxy = new NpgsqlConnectionStringBuilder(destination) { Username = role, Password = "pw", Pooling = false }.ConnectionString;
        await using (var connection = new NpgsqlConnection(proxy))
        {
            await connection.OpenAsync();
            await using var delete = new NpgsqlCommand("""
                create temp table sequin_capture (seq bigserial, table_oid oid not null, op "char" not null, old_row jsonb, new_row jsonb);
                select set_config('sequin.capture', 'armed:' || pg_current_xact_id(), true);
                delete from salesforce.contact where id in ('003A', '003B');
                """, connection);
            await delete.ExecuteNonQueryAsync();

            // A client cannot forge a tombstone for a live row (which would make the sync drop it): neither directly
            // nor through the recording function outside the capture trigger.
            foreach (var forgery in new[]
            {
                "insert into _sequin.tombstone (table_oid, id) values ('salesforce.contact'::regclass, '003C')",
                "select _sequin.record_deletes('salesforce.contact'::regclass, array['003C'])",
            })
            {
                var refused = await Should.ThrowAsync<PostgresException>(async () =>
                {
                    await using var forge = new NpgsqlCommand(forgery, connection);
                    await forge.ExecuteNonQueryAsync();
                });
                refused.SqlState.ShouldBe(PostgresErrorCodes.InsufficientPrivilege);
            }

            // _sequin is visible to it (for that insert), but the engine's grant helpers are not its to call.
            var helper = await Should.ThrowAsync<PostgresException>(async () =>
            {
                await using var grant = new NpgsqlCommand("select _sequin.grant_read_only('salesforce', current_user)", connection);
                await grant.ExecuteNonQueryAsync();
            });
            helper.SqlState.ShouldBe(PostgresErrorCodes.InsufficientPrivilege);
        }

        (await Destination.ScalarAsync<long>(destination, "select count(*) from _sequin.tombstone where table_oid = 'salesforce.contact'::regclass")).ShouldBe(2);

        // An incremental poll that read 003A before the delete: the upsert path drops it again.
        var poll = await PageLoader.LoadAsync(sync, model, [Record("003A", t0, "Ada", 1), Record("003C", t0.AddSeconds(1), "Cyd", 3)], [],
            new CursorUpdate("live", "c2", null, null), true, default);
        poll.Deleted.ShouldBe(1);
        // A backfill page read before the delete: the direct COPY drops it again.
        var page = await PageLoader.LoadAsync(sync, model, [Record("003B", t0, "Bob", 2)], [],
            new CursorUpdate("live", "c3", null, null), false, default, copyDirect: true);
        page.ShouldBe(new LoadResult(1, 0, 1));
        (await Destination.ScalarAsync<string>(destination, "select string_agg(id || '=' || last_name, ',' order by id) from salesforce.contact")).ShouldBe("003C=Cyd");

        // 003B restored upstream after the delete (undelete bumps SystemModstamp): it is loaded and stays.
        await PageLoader.LoadAsync(sync, model, [Record("003B", DateTime.UtcNow.AddSeconds(1), "Bob", 2)], [],
            new CursorUpdate("live", "c4", null, null), true, default);
        (await Destination.ScalarAsync<string>(destination, "select string_agg(id, ',' order by id) from salesforce.contact")).ShouldBe("003B,003C");
    }
}
