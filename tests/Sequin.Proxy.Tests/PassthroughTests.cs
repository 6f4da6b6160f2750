using Npgsql;
using Sequin.Proxy.Protocol;
using Sequin.Proxy.Tests.Support;
using Shouldly;

namespace Sequin.Proxy.Tests;

/// <summary>What every session must pass through unchanged, on both the inspected path and the fast path.</summary>
public abstract class PassthroughContract(ProxyFixture proxy)
{
    protected ProxyFixture Proxy => proxy;

    [Fact]
    public async Task PreparedStatements_AndParameters_Work()
    {
        await using var connection = await proxy.OpenAsync(b => b.MaxAutoPrepare = 10);
        for (var i = 0; i < 8; i++)
        {
            await using var command = new NpgsqlCommand("select $1::int * 2, $2::text", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = i });
            command.Parameters.Add(new NpgsqlParameter { Value = "x" + i });
            await command.PrepareAsync();
            await using var reader = await command.ExecuteReaderAsync();
            (await reader.ReadAsync()).ShouldBeTrue();
            reader.GetInt32(0).ShouldBe(i * 2);
            reader.GetString(1).ShouldBe("x" + i);
        }
    }

    [Fact]
    public async Task Batch_PipelinesManyStatementsBehindOneSync()
    {
        await using var connection = await proxy.OpenAsync();
        await using var batch = new NpgsqlBatch(connection);
        for (var i = 0; i < 50; i++)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand($"select {i}"));
        }

        await using var reader = await batch.ExecuteReaderAsync();
        var seen = 0;
        do
        {
            while (await reader.ReadAsync())
            {
                reader.GetInt32(0).ShouldBe(seen++);
            }
        }
        while (await reader.NextResultAsync());

        seen.ShouldBe(50);
    }

    [Fact]
    public async Task ErrorInBatch_SkipsUntilSync_AndConnectionRecovers()
    {
        await using var connection = await proxy.OpenAsync();
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("select 1"));
        batch.BatchCommands.Add(new NpgsqlBatchCommand("select 1/0"));
        batch.BatchCommands.Add(new NpgsqlBatchCommand("select 3"));
        var e = await Should.ThrowAsync<PostgresException>(() => batch.ExecuteNonQueryAsync());
        e.SqlState.ShouldBe("22012");
        await using var command = new NpgsqlCommand("select 7", connection);
        (await command.ExecuteScalarAsync()).ShouldBe(7);
    }

    [Fact]
    public async Task ErrorInsideTransaction_Is25P02UntilRollback()
    {
        await using var connection = await proxy.OpenAsync();
        await using var tx = await connection.BeginTransactionAsync();
        await Should.ThrowAsync<PostgresException>(() => new NpgsqlCommand("select 1/0", connection, tx).ExecuteNonQueryAsync());
        var e = await Should.ThrowAsync<PostgresException>(() => new NpgsqlCommand("select 1", connection, tx).ExecuteNonQueryAsync());
        e.SqlState.ShouldBe("25P02");
        await tx.RollbackAsync();
        (await new NpgsqlCommand("select 2", connection).ExecuteScalarAsync()).ShouldBe(2);
    }

    [Fact]
    public async Task Copy_InAndOut_PassThrough()
    {
        await using var connection = await proxy.OpenAsync();
        await using (var writer = await connection.BeginTextImportAsync("copy notes (body) from stdin"))
        {
            for (var i = 0; i < 1000; i++)
            {
                await writer.WriteLineAsync("note " + i);
            }
        }

        using var reader = await connection.BeginTextExportAsync("copy (select body from notes order by id) to stdout");
        var lines = 0;
        while (await reader.ReadLineAsync() is not null)
        {
            lines++;
        }

        lines.ShouldBeGreaterThanOrEqualTo(1000);
    }

    [Fact]
    public async Task MessageSplitAcrossReads_IsForwardedWhole()
    {
        var (client, _) = await RawClient.LoginAsync(proxy.Port, proxy.User, ProxyFixture.Password, proxy.Database);
        await using var _c = client;
        var w = new System.Buffers.ArrayBufferWriter<byte>();
        MessageWriter.WriteQuery(w, "select 'split'");
        var bytes = w.WrittenSpan.ToArray();
        foreach (var b in bytes)
        {
            await client.SendAsync([b]);
            await Task.Delay(2);
        }

        RawClient.Rows(await client.ReadUntilReadyAsync()).Single()[0].ShouldBe("split");
    }

    [Fact]
    public async Task PipelinedQueries_InOddChunks_AndOneLargerThanTheReadBuffer_AnswerInOrder()
    {
        var (client, _) = await RawClient.LoginAsync(proxy.Port, proxy.User, ProxyFixture.Password, proxy.Database);
        await using var _c = client;
        var w = new System.Buffers.ArrayBufferWriter<byte>();
        MessageWriter.WriteQuery(w, "select 'first'");
        MessageWriter.WriteQuery(w, $"select length('{new string('x', 100_000)}')");
        MessageWriter.WriteQuery(w, "select 'last'");
        var bytes = w.WrittenSpan.ToArray();
        for (var i = 0; i < bytes.Length; i += 7001)
        {
            await client.SendAsync(bytes[i..Math.Min(bytes.Length, i + 7001)]);
        }

        RawClient.Rows(await client.ReadUntilReadyAsync()).Single()[0].ShouldBe("first");
        RawClient.Rows(await client.ReadUntilReadyAsync()).Single()[0].ShouldBe("100000");
        RawClient.Rows(await client.ReadUntilReadyAsync()).Single()[0].ShouldBe("last");
    }

    [Fact]
    public async Task LargeValues_StreamThrough()
    {
        await using var connection = await proxy.OpenAsync();
        var big = new string('x', 8 * 1024 * 1024);
        await using var command = new NpgsqlCommand("select length($1), repeat('y', 5000000)", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = big });
        await using var reader = await command.ExecuteReaderAsync();
        (await reader.ReadAsync()).ShouldBeTrue();
        reader.GetInt32(0).ShouldBe(big.Length);
        reader.GetString(1).Length.ShouldBe(5_000_000);
    }

    [Fact]
    public async Task ListenNotify_PassesThrough()
    {
        await using var listener = await proxy.OpenAsync();
        await using var notifier = await proxy.OpenAsync();
        var received = new TaskCompletionSource<string>();
        listener.Notification += (_, e) => received.TrySetResult(e.Payload);
        await new NpgsqlCommand("listen sequin_test", listener).ExecuteNonQueryAsync();
        await new NpgsqlCommand("notify sequin_test, 'hello'", notifier).ExecuteNonQueryAsync();
        var wait = listener.WaitAsync(TimeSpan.FromSeconds(10));
        (await received.Task.WaitAsync(TimeSpan.FromSeconds(10))).ShouldBe("hello");
        await wait;
    }
}

/// <summary>Sessions on a database with synced tables (frames inspected for writes).</summary>
public sealed class PassthroughTests(ProxyFixture proxy) : PassthroughContract(proxy), IClassFixture<ProxyFixture>
{
    [Fact]
    public async Task SimpleQuery_MultipleStatements_AndReadsOfSyncedTables()
    {
        var (client, _) = await RawClient.LoginAsync(Proxy.Port, Proxy.User, ProxyFixture.Password, Proxy.Database);
        await using var _c = client;
        var frames = await client.SimpleAsync("select 1; select 2; select count(*) from salesforce.contact");
        RawClient.Rows(frames).Count.ShouldBe(3);
        frames[^1].Status.ShouldBe(TransactionStatus.Idle);
    }

    [Fact]
    public async Task DirectWrite_ByReadRole_IsRefusedByGrants()
    {
        var direct = new NpgsqlConnectionStringBuilder(Proxy.DatabaseConnectionString)
        {
            Username = Proxy.ReaderRole, Password = ProxyFixture.Password, Pooling = false,
        };
        await using var connection = new NpgsqlConnection(direct.ConnectionString);
        await connection.OpenAsync();
        var e = await Should.ThrowAsync<PostgresException>(() =>
            new NpgsqlCommand("insert into salesforce.contact (last_name) values ('x')", connection).ExecuteNonQueryAsync());
        e.SqlState.ShouldBe("42501");
        e.MessageText.ShouldContain("permission denied");
    }

    [Fact]
    public async Task DirectWrite_ByBackendRoleWithoutProxy_IsRefusedByTrigger()
    {
        var direct = new NpgsqlConnectionStringBuilder(Proxy.DatabaseConnectionString)
        {
            Username = Proxy.BackendRole, Password = ProxyFixture.Password, Pooling = false,
        };
        await using var connection = new NpgsqlConnection(direct.ConnectionString);
        await connection.OpenAsync();
        await new NpgsqlCommand("set sequin.origin = 'sync'", connection).ExecuteNonQueryAsync();
        var e = await Should.ThrowAsync<PostgresException>(() =>
            new NpgsqlCommand("insert into salesforce.contact (last_name) values ('x')", connection).ExecuteNonQueryAsync());
        e.SqlState.ShouldBe("42501");
        e.MessageText.ShouldContain("must go through the Sequin proxy");
    }
}

/// <summary>Sessions on a database without synced tables take the zero-copy fast path.</summary>
public sealed class FastPathPassthroughTests(PlainProxyFixture proxy) : PassthroughContract(proxy), IClassFixture<PlainProxyFixture>
{
    [Fact]
    public async Task SimpleQuery_MultipleStatements()
    {
        var (client, _) = await RawClient.LoginAsync(Proxy.Port, Proxy.User, ProxyFixture.Password, Proxy.Database);
        await using var _c = client;
        var frames = await client.SimpleAsync("select 1; insert into notes (body) values ('x'); select 3");
        RawClient.Tags(frames).ShouldBe(["SELECT 1", "INSERT 0 1", "SELECT 1"]);
    }

    [Theory]
    [InlineData((byte)'Z', 4)]
    [InlineData((byte)'Q', 3)]
    [InlineData((byte)'Q', 0x4000_0000)]
    public async Task MalformedFrame_Is08P01(byte code, int length)
    {
        var (client, _) = await RawClient.LoginAsync(Proxy.Port, Proxy.User, ProxyFixture.Password, Proxy.Database);
        await using var _c = client;
        var bytes = new byte[5];
        bytes[0] = code;
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(1), length);
        await client.SendAsync(bytes);
        var frame = await client.ReadAsync();
        frame.ErrorFields()['C'].ShouldBe("08P01");
        (await client.IsClosedAsync(TimeSpan.FromSeconds(5))).ShouldBeTrue();
    }

    [Fact]
    public async Task WriteToSyncedTablesIsImpossibleHere_SoNothingIsInspected()
    {
        await using var connection = await Proxy.OpenAsync();
        (await new NpgsqlCommand("select to_regnamespace('_sequin') is null", connection).ExecuteScalarAsync()).ShouldBe(true);
    }
}
