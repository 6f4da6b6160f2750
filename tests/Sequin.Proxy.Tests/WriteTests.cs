using Npgsql;
using Sequin.Proxy.Protocol;
using Sequin.Proxy.Tests.Support;
using Sequin.Proxy.Writes;
using Shouldly;

namespace Sequin.Proxy.Tests;

/// <summary>The write path through the simple Query protocol (what psql and pgbench -M simple send).</summary>
public sealed class SimpleProtocolWriteTests(ProxyFixture proxy) : IClassFixture<ProxyFixture>
{
    private async Task<RawClient> LoginAsync()
    {
        var (client, _) = await RawClient.LoginAsync(proxy.Port, proxy.User, ProxyFixture.Password, proxy.Database);
        return client;
    }

    private async Task<string?> DirectScalarAsync(string sql)
    {
        await using var c = await proxy.OpenDirectAsync();
        return (await new NpgsqlCommand(sql, c).ExecuteScalarAsync())?.ToString();
    }

    private static string Unique(string prefix) => $"{prefix}{Guid.NewGuid():N}"[..20];

    [Fact]
    public async Task Insert_AnswersChangedIds_WithExactTag_AndStoresTheUpstreamId()
    {
        await using var client = await LoginAsync();
        var email = Unique("paul") + "@caladan.io";
        var frames = await client.SimpleAsync($"insert into salesforce.contact (first_name, last_name, email) values ('Paul', 'Atreides', '{email}')");
        RawClient.Error(frames).ShouldBeNull();
        frames.First(f => f.Type == BackendMessageCode.RowDescription).Body.ShouldNotBeEmpty();
        var id = RawClient.Rows(frames).Single()[0]!;
        id.ShouldStartWith("003");
        id.Length.ShouldBe(18);
        RawClient.Tags(frames).ShouldBe(["INSERT 0 1"]);
        frames[^1].Status.ShouldBe(TransactionStatus.Idle);

        (await DirectScalarAsync($"select id from salesforce.contact where email = '{email}'")).ShouldBe(id);
        proxy.Upstream.Objects("Contact")[id]["Email"].ShouldBe(email);
        proxy.Upstream.Objects("Contact")[id]["LastName"].ShouldBe("Atreides");
    }

    [Fact]
    public async Task Insert_SplitAcrossReads_IsStillTakenToTheUpstream()
    {
        await using var client = await LoginAsync();
        var email = Unique("split") + "@caladan.io";
        var w = new System.Buffers.ArrayBufferWriter<byte>();
        MessageWriter.WriteQuery(w, $"insert into salesforce.contact (first_name, last_name, email) values ('Alia', 'Atreides', '{email}')");
        foreach (var chunk in w.WrittenSpan.ToArray().Chunk(9))
        {
            await client.SendAsync(chunk);
            await Task.Delay(2);
        }

        var frames = await client.ReadUntilReadyAsync();
        RawClient.Error(frames).ShouldBeNull();
        var id = RawClient.Rows(frames).Single()[0]!;
        id.ShouldStartWith("003");
        proxy.Upstream.Objects("Contact")[id]["Email"].ShouldBe(email);
    }

    [Fact]
    public async Task InvalidEmail_Is23514_WithSourceDetailAndFields_AndNothingCommitted()
    {
        await using var client = await LoginAsync();
        var before = proxy.Upstream.Objects("Contact").Count;
        var frames = await client.SimpleAsync("insert into salesforce.contact (first_name, last_name, email) values ('Paul', 'Atreides', 'pauldune.co')");
        var error = RawClient.Error(frames)!;
        error['C'].ShouldBe("23514");
        error['M'].ShouldStartWith("[Salesforce] validation error:");
        error['D'].ShouldBe("Key (email)=(pauldune.co) is not a valid email address.");
        error['s'].ShouldBe("salesforce");
        error['t'].ShouldBe("contact");
        error['c'].ShouldBe("email");
        frames[^1].Status.ShouldBe(TransactionStatus.Idle);
        (await DirectScalarAsync("select count(*) from salesforce.contact where email = 'pauldune.co'")).ShouldBe("0");
        proxy.Upstream.Objects("Contact").Count.ShouldBe(before);
    }

    [Theory]
    [InlineData("insert into salesforce.contact (first_name, last_name) values ('Only', null)", "23502", "last_name")]
    [InlineData("insert into salesforce.contact (first_name, last_name) values (repeat('x', 41), 'Long')", "22001", "first_name")]
    public async Task Rejections_MapToSqlStateByCause(string sql, string sqlState, string column)
    {
        await using var client = await LoginAsync();
        var error = RawClient.Error(await client.SimpleAsync(sql))!;
        error['C'].ShouldBe(sqlState);
        error['c'].ShouldBe(column);
    }

    [Theory]
    [InlineData(UpstreamErrorKind.Unavailable, "08006")]
    [InlineData(UpstreamErrorKind.Timeout, "57014")]
    [InlineData(UpstreamErrorKind.Permission, "42501")]
    public async Task UpstreamFailures_MapToSqlState(UpstreamErrorKind kind, string sqlState)
    {
        await using var client = await LoginAsync();
        proxy.Upstream.FailNext = kind;
        var error = RawClient.Error(await client.SimpleAsync("insert into salesforce.account (name) values ('Fails')"))!;
        error['C'].ShouldBe(sqlState);
        (await DirectScalarAsync("select count(*) from salesforce.account where name = 'Fails'")).ShouldBe("0");
    }

    [Fact]
    public async Task MoreRowsThanOneRequest_Is54000_BeforeAnyUpstreamCall()
    {
        await using var client = await LoginAsync();
        var calls = proxy.Upstream.Calls.Count;
        var frames = await client.SimpleAsync("insert into salesforce.account (name) select 'bulk ' || g from generate_series(1, 201) g");
        var error = RawClient.Error(frames)!;
        error['C'].ShouldBe("54000");
        error['M'].ShouldContain("201");
        proxy.Upstream.Calls.Count.ShouldBe(calls);
        (await DirectScalarAsync("select count(*) from salesforce.account where name like 'bulk %'")).ShouldBe("0");
    }

    [Fact]
    public async Task AllSqlForms_Work_AndReturningShowsRealIds()
    {
        await using var client = await LoginAsync();
        var tag = Unique("f");

        // multi-row VALUES + DEFAULT + RETURNING
        var inserted = await client.SimpleAsync(
            $"insert into salesforce.account (id, name) values (default, '{tag}-a'), (default, '{tag}-b') returning id, name");
        RawClient.Error(inserted).ShouldBeNull();
        var rows = RawClient.Rows(inserted);
        rows.Count.ShouldBe(2);
        rows.ShouldAllBe(r => r[0]!.StartsWith("001"));
        RawClient.Tags(inserted).ShouldBe(["INSERT 0 2"]);
        var accountA = rows.Single(r => r[1] == $"{tag}-a")[0]!;

        // CTE that inserts and reads back
        var cte = await client.SimpleAsync(
            $"with c as (insert into salesforce.contact (last_name, email, account_id) values ('Cte', '{tag}@x.io', '{accountA}') returning id) select id from c");
        RawClient.Error(cte).ShouldBeNull();
        var contactId = RawClient.Rows(cte).Single()[0]!;
        contactId.ShouldStartWith("003");

        // UPDATE with a subquery in WHERE
        var updated = await client.SimpleAsync(
            $"update salesforce.contact set title = 'CEO' where account_id in (select id from salesforce.account where name = '{tag}-a')");
        RawClient.Error(updated).ShouldBeNull();
        RawClient.Tags(updated).ShouldBe(["UPDATE 1"]);
        RawClient.Rows(updated).Single()[0].ShouldBe(contactId);
        proxy.Upstream.Objects("Contact")[contactId]["Title"].ShouldBe("CEO");

        // UPDATE … FROM
        var updateFrom = await client.SimpleAsync(
            $"update salesforce.contact c set title = a.name from salesforce.account a where a.id = c.account_id and a.name = '{tag}-a'");
        RawClient.Tags(updateFrom).ShouldBe(["UPDATE 1"]);
        proxy.Upstream.Objects("Contact")[contactId]["Title"].ShouldBe($"{tag}-a");

        // ON CONFLICT DO NOTHING (nothing changes, nothing goes upstream)
        var calls = proxy.Upstream.Calls.Count;
        var nothing = await client.SimpleAsync(
            $"insert into salesforce.contact (last_name, email) values ('Dup', '{tag}@x.io') on conflict (email) do nothing");
        RawClient.Tags(nothing).ShouldBe(["INSERT 0 0"]);
        proxy.Upstream.Calls.Count.ShouldBe(calls);

        // ON CONFLICT DO UPDATE (an upsert: the conflicting row is updated upstream)
        var upsert = await client.SimpleAsync(
            $"insert into salesforce.contact (last_name, email) values ('Upserted', '{tag}@x.io') on conflict (email) do update set last_name = excluded.last_name returning id, last_name");
        RawClient.Error(upsert).ShouldBeNull();
        RawClient.Rows(upsert).Single().ShouldBe([contactId, "Upserted"]);
        proxy.Upstream.Objects("Contact")[contactId]["LastName"].ShouldBe("Upserted");

        // DELETE … USING
        var deleted = await client.SimpleAsync(
            $"delete from salesforce.contact c using salesforce.account a where a.id = c.account_id and a.name = '{tag}-a'");
        RawClient.Tags(deleted).ShouldBe(["DELETE 1"]);
        RawClient.Rows(deleted).Single()[0].ShouldBe(contactId);
        proxy.Upstream.Objects("Contact").ContainsKey(contactId).ShouldBeFalse();
        (await DirectScalarAsync($"select count(*) from salesforce.contact where id = '{contactId}'")).ShouldBe("0");
    }

    [Fact]
    public async Task RollbackAfterWrites_WarnsThatUpstreamChangesPersisted()
    {
        await using var client = await LoginAsync();
        var name = Unique("tx");
        (await client.SimpleAsync("begin"))[^1].Status.ShouldBe(TransactionStatus.InTransaction);
        var insert = await client.SimpleAsync($"insert into salesforce.account (name) values ('{name}')");
        insert[^1].Status.ShouldBe(TransactionStatus.InTransaction);
        var id = RawClient.Rows(insert).Single()[0]!;
        var rollback = await client.SimpleAsync("rollback");
        var warning = rollback.Single(f => f.Type == BackendMessageCode.NoticeResponse).ErrorFields();
        warning['S'].ShouldBe("WARNING");
        warning['D'].ShouldContain(id);
        rollback[^1].Status.ShouldBe(TransactionStatus.Idle);
        proxy.Upstream.Objects("Account").ContainsKey(id).ShouldBeTrue();
        (await DirectScalarAsync($"select count(*) from salesforce.account where name = '{name}'")).ShouldBe("0");
    }

    [Fact]
    public async Task CommitAfterWrites_KeepsThem_WithoutWarning()
    {
        await using var client = await LoginAsync();
        var name = Unique("tc");
        await client.SimpleAsync("begin");
        var id = RawClient.Rows(await client.SimpleAsync($"insert into salesforce.account (name) values ('{name}')")).Single()[0];
        var commit = await client.SimpleAsync("commit");
        commit.ShouldNotContain(f => f.Type == BackendMessageCode.NoticeResponse);
        (await DirectScalarAsync($"select id from salesforce.account where name = '{name}'")).ShouldBe(id);
    }

    [Fact]
    public async Task RejectionInsideTransaction_AbortsIt_Until_Rollback()
    {
        await using var client = await LoginAsync();
        await client.SimpleAsync("begin");
        var rejected = await client.SimpleAsync("insert into salesforce.contact (last_name, email) values ('Bad', 'nope')");
        RawClient.Error(rejected)!['C'].ShouldBe("23514");
        rejected[^1].Status.ShouldBe(TransactionStatus.Failed);
        var next = await client.SimpleAsync("select 1");
        RawClient.Error(next)!['C'].ShouldBe("25P02");
        (await client.SimpleAsync("rollback"))[^1].Status.ShouldBe(TransactionStatus.Idle);
        RawClient.Rows(await client.SimpleAsync("select 1")).Single()[0].ShouldBe("1");
    }

    [Fact]
    public async Task WriteToOrdinaryTable_IsNotIntercepted()
    {
        await using var client = await LoginAsync();
        var frames = await client.SimpleAsync("insert into public.notes (body) values ('plain')");
        RawClient.Tags(frames).ShouldBe(["INSERT 0 1"]);
        frames.ShouldNotContain(f => f.Type == BackendMessageCode.RowDescription);
    }

    [Fact]
    public async Task MultiStatementQuery_WithWrites_RunsEachStatement()
    {
        await using var client = await LoginAsync();
        var name = Unique("ms");
        var frames = await client.SimpleAsync($"select 1; insert into salesforce.account (name) values ('{name}'); select count(*) from salesforce.account where name = '{name}'");
        RawClient.Error(frames).ShouldBeNull();
        RawClient.Tags(frames).ShouldBe(["SELECT 1", "INSERT 0 1", "SELECT 1"]);
        RawClient.Rows(frames).Last()[0].ShouldBe("1");
    }

    [Fact]
    public async Task FunctionThatWrites_IsRefusedNotBypassed()
    {
        await using (var admin = await proxy.OpenDirectAsync())
        {
            await new NpgsqlCommand(
                "create or replace function public.sneaky() returns void language sql as $$ insert into salesforce.account (name) values ('sneaky') $$",
                admin).ExecuteNonQueryAsync();
        }

        await using var client = await LoginAsync();
        // A write first, so the session's capture table exists: the function's write, not armed by the proxy, must still fail.
        RawClient.Error(await client.SimpleAsync("insert into salesforce.account (name) values ('before sneaky')")).ShouldBeNull();
        var error = RawClient.Error(await client.SimpleAsync("select public.sneaky()"))!;
        error['C'].ShouldBe("42501");
        error['M'].ShouldContain("must go through the Sequin proxy");
        await client.SimpleAsync("begin");
        RawClient.Error(await client.SimpleAsync("insert into salesforce.account (name) values ('in tx')")).ShouldBeNull();
        RawClient.Error(await client.SimpleAsync("select public.sneaky()"))!['C'].ShouldBe("42501");
        await client.SimpleAsync("rollback");
    }
}

/// <summary>The write path through the extended protocol (Npgsql: what EF Core and most drivers send).</summary>
public sealed class ExtendedProtocolWriteTests(ProxyFixture proxy) : IClassFixture<ProxyFixture>
{
    [Fact]
    public async Task ExecuteNonQuery_ReturnsRowCount_WithoutExtraRows()
    {
        await using var connection = await proxy.OpenAsync();
        var name = "ext-" + Guid.NewGuid().ToString("N")[..8];
        await using var command = new NpgsqlCommand("insert into salesforce.account (name) values ($1)", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        (await command.ExecuteNonQueryAsync()).ShouldBe(1);
        await using var check = new NpgsqlCommand("select id from salesforce.account where name = $1", connection);
        check.Parameters.Add(new NpgsqlParameter { Value = name });
        var id = (string)(await check.ExecuteScalarAsync())!;
        id.ShouldStartWith("001");
        proxy.Upstream.Objects("Account")[id]["Name"].ShouldBe(name);
    }

    [Fact]
    public async Task InsertReturning_GivesTheUpstreamId()
    {
        await using var connection = await proxy.OpenAsync();
        await using var command = new NpgsqlCommand("insert into salesforce.account (name) values ('ret') returning id", connection);
        var id = (string)(await command.ExecuteScalarAsync())!;
        id.ShouldStartWith("001");
        proxy.Upstream.Objects("Account").ContainsKey(id).ShouldBeTrue();
    }

    [Fact]
    public async Task Rejection_IsPostgresException_WithColumnTableSchema()
    {
        await using var connection = await proxy.OpenAsync();
        await using var command = new NpgsqlCommand("insert into salesforce.contact (last_name, email) values ('Dune', $1)", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = "pauldune.co" });
        var e = await Should.ThrowAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
        e.SqlState.ShouldBe("23514");
        e.MessageText.ShouldStartWith("[Salesforce] validation error");
        e.Detail.ShouldBe("Key (email)=(pauldune.co) is not a valid email address.");
        e.SchemaName.ShouldBe("salesforce");
        e.TableName.ShouldBe("contact");
        e.ColumnName.ShouldBe("email");
        await using var after = new NpgsqlCommand("select 5", connection);
        (await after.ExecuteScalarAsync()).ShouldBe(5);
    }

    [Fact]
    public async Task PreparedInsert_ReusedManyTimes()
    {
        await using var connection = await proxy.OpenAsync();
        await using var command = new NpgsqlCommand("insert into salesforce.account (name) values ($1)", connection);
        var p = new NpgsqlParameter { Value = "" };
        command.Parameters.Add(p);
        await command.PrepareAsync();
        for (var i = 0; i < 6; i++)
        {
            p.Value = "prep-" + i;
            (await command.ExecuteNonQueryAsync()).ShouldBe(1);
        }
    }

    [Fact]
    public async Task Batch_OfInserts_GoesUpstreamAsOneRequest()
    {
        await using var connection = await proxy.OpenAsync();
        var tag = Guid.NewGuid().ToString("N")[..8];
        var calls = proxy.Upstream.Calls.Count;
        await using var batch = new NpgsqlBatch(connection);
        for (var i = 0; i < 3; i++)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand($"insert into salesforce.account (name) values ('{tag}-{i}')"));
        }

        (await batch.ExecuteNonQueryAsync()).ShouldBe(3);
        proxy.Upstream.Calls.Count.ShouldBe(calls + 1);
        proxy.Upstream.Calls.Last().Rows.ShouldBe(3);
    }

    [Fact]
    public async Task Transaction_CommitKeepsWrites_AndRollbackAfterRejectionWorks()
    {
        await using var connection = await proxy.OpenAsync();
        var name = "txe-" + Guid.NewGuid().ToString("N")[..8];
        await using (var tx = await connection.BeginTransactionAsync())
        {
            (await new NpgsqlCommand($"insert into salesforce.account (name) values ('{name}')", connection, tx).ExecuteNonQueryAsync()).ShouldBe(1);
            (await new NpgsqlCommand($"update salesforce.account set name = '{name}-2' where name = '{name}'", connection, tx).ExecuteNonQueryAsync()).ShouldBe(1);
            await tx.CommitAsync();
        }

        (await new NpgsqlCommand($"select count(*) from salesforce.account where name = '{name}-2'", connection).ExecuteScalarAsync()).ShouldBe(1L);

        await using (var tx = await connection.BeginTransactionAsync())
        {
            var e = await Should.ThrowAsync<PostgresException>(() =>
                new NpgsqlCommand("insert into salesforce.contact (last_name, email) values ('x', 'bad')", connection, tx).ExecuteNonQueryAsync());
            e.SqlState.ShouldBe("23514");
            var aborted = await Should.ThrowAsync<PostgresException>(() => new NpgsqlCommand("select 1", connection, tx).ExecuteNonQueryAsync());
            aborted.SqlState.ShouldBe("25P02");
            await tx.RollbackAsync();
        }

        (await new NpgsqlCommand("select 1", connection).ExecuteScalarAsync()).ShouldBe(1);
    }

    [Fact]
    public async Task DeleteAndUpdate_ReportRowCounts()
    {
        await using var connection = await proxy.OpenAsync();
        var tag = "du-" + Guid.NewGuid().ToString("N")[..8];
        await new NpgsqlCommand($"insert into salesforce.account (name) values ('{tag}'), ('{tag}')", connection).ExecuteNonQueryAsync();
        (await new NpgsqlCommand($"update salesforce.account set name = '{tag}x' where name = '{tag}'", connection).ExecuteNonQueryAsync()).ShouldBe(2);
        (await new NpgsqlCommand($"delete from salesforce.account where name = '{tag}x'", connection).ExecuteNonQueryAsync()).ShouldBe(2);
    }
}
