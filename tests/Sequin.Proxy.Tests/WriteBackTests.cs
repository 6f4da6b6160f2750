using System.Globalization;
using Npgsql;
using Sequin.Proxy.Protocol;
using Sequin.Proxy.Testing;
using Sequin.Proxy.Tests.Support;
using Shouldly;

namespace Sequin.Proxy.Tests;

/// <summary>
/// Upstream-set values (docs/proxy.md): after the upstream accepted a write, the proxy reads the records back and
/// stores every synced column before the commit, so RETURNING and the committed row equal the upstream record.
/// The in-memory upstream sets CreatedDate, SystemModstamp, OwnerId and a default NumberOfEmployees like Salesforce.
/// </summary>
public sealed class WriteBackTests(ProxyFixture proxy) : IClassFixture<ProxyFixture>
{
    private const string Columns = "id, name, owner_id, created_date, system_modstamp, number_of_employees";

    private async Task<RawClient> LoginAsync()
    {
        var (client, _) = await RawClient.LoginAsync(proxy.Port, proxy.User, ProxyFixture.Password, proxy.Database);
        return client;
    }

    private static string Unique(string prefix) => $"{prefix}{Guid.NewGuid():N}"[..20];

    private Dictionary<string, string?> Upstream(string id) => proxy.Upstream.Objects("Account")[id];

    /// <summary>Whether the stored row equals the upstream record (compared by Postgres, whatever the session's TimeZone).</summary>
    private async Task<bool> StoredEqualsUpstreamAsync(string id)
    {
        var up = Upstream(id);
        await using var c = await proxy.OpenDirectAsync();
        await using var command = new NpgsqlCommand(
            "select created_date = $2::timestamptz and system_modstamp = $3::timestamptz and owner_id = $4 and number_of_employees = $5::int and name = $6 " +
            "from salesforce.account where id = $1", c);
        foreach (var v in new[] { id, up["CreatedDate"], up["SystemModstamp"], up["OwnerId"], up["NumberOfEmployees"], up["Name"] })
        {
            command.Parameters.Add(new NpgsqlParameter { Value = v });
        }

        return await command.ExecuteScalarAsync() is true;
    }

    private static DateTime Utc(string? value) => DateTime.Parse(value!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

    [Fact]
    public async Task SimpleInsertReturningStar_CarriesUpstreamValues_AndStoredRowEqualsUpstream()
    {
        await using var client = await LoginAsync();
        var name = Unique("wb");
        var calls = proxy.Upstream.Calls.Count;
        var frames = await client.SimpleAsync($"insert into salesforce.account (name) values ('{name}') returning *");
        RawClient.Error(frames).ShouldBeNull();
        var returned = RawClient.Rows(frames).Single();
        var id = returned[0]!;
        id.ShouldStartWith("001");
        var up = Upstream(id);
        up["CreatedDate"].ShouldNotBeNull();

        // RETURNING equals what the same session reads from the committed row, and that equals the upstream.
        var stored = RawClient.Rows(await client.SimpleAsync($"select * from salesforce.account where id = '{id}'")).Single();
        returned.ShouldBe(stored);
        returned[2].ShouldBe(InMemoryUpstreamWriter.OwnerId);
        returned[5].ShouldBe("1"); // upstream default
        (await StoredEqualsUpstreamAsync(id)).ShouldBeTrue();

        // Only the insert went upstream: the write-back was not captured as an update.
        proxy.Upstream.Calls.Skip(calls).Select(c => c.Operation).ShouldBe([Writes.UpstreamOperation.Insert]);
    }

    [Fact]
    public async Task StatementDescribeBetweenBindAndExecute_KeepsThePortalsBinaryFormats()
    {
        // Parse, Bind (all results binary), Describe of the *statement* (its RowDescription says text), Execute: the
        // written-back values must come in the portal's binary format, not the statement description's text.
        await using var client = await LoginAsync();
        var name = Unique("wbd");
        var w = new System.Buffers.ArrayBufferWriter<byte>();
        MessageWriter.WriteParse(w, "wbd", $"insert into salesforce.account (name) values ('{name}') returning id, number_of_employees, name");
        byte[] bind = [0, .. "wbd"u8, 0, 0, 0, 0, 0, 0, 1, 0, 1]; // portal "", statement, no parameters, one result format: binary
        MessageWriter.WriteRaw(w, FrontendMessageCode.Bind, bind);
        MessageWriter.WriteRaw(w, FrontendMessageCode.Describe, [(byte)'S', .. "wbd"u8, 0]);
        MessageWriter.WriteRaw(w, FrontendMessageCode.Execute, [0, 0, 0, 0, 0]);
        MessageWriter.WriteSync(w);
        await client.SendAsync(w.WrittenSpan.ToArray());
        var frames = await client.ReadUntilReadyAsync();
        RawClient.Error(frames).ShouldBeNull();

        var row = frames.Single(f => f.Type == BackendMessageCode.DataRow).Body;
        var values = new List<byte[]>();
        for (int p = 2, i = 0; i < 3; i++)
        {
            var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(row.AsSpan(p));
            values.Add(row.AsSpan(p + 4, length).ToArray());
            p += 4 + length;
        }

        var id = System.Text.Encoding.UTF8.GetString(values[0]);
        id.ShouldStartWith("001");
        values[1].Length.ShouldBe(4); // int4 in binary: the upstream's default of 1 employee
        System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(values[1]).ShouldBe(1);
        System.Text.Encoding.UTF8.GetString(values[2]).ShouldBe(name);
        (await StoredEqualsUpstreamAsync(id)).ShouldBeTrue();
    }

    [Fact]
    public async Task Update_StoresTheNewSystemModstamp_ReturningWithoutIdColumn()
    {
        await using var client = await LoginAsync();
        var name = Unique("wbu");
        var id = RawClient.Rows(await client.SimpleAsync($"insert into salesforce.account (name) values ('{name}') returning id")).Single()[0]!;
        var created = Upstream(id)["SystemModstamp"];

        var frames = await client.SimpleAsync($"update salesforce.account set name = '{name}-2' where id = '{id}' returning system_modstamp, name");
        RawClient.Error(frames).ShouldBeNull();
        var modstamp = Upstream(id)["SystemModstamp"];
        Utc(modstamp).ShouldBeGreaterThan(Utc(created));
        var returned = RawClient.Rows(frames).Single();
        var stored = RawClient.Rows(await client.SimpleAsync($"select system_modstamp, name from salesforce.account where id = '{id}'")).Single();
        returned.ShouldBe(stored);
        (await StoredEqualsUpstreamAsync(id)).ShouldBeTrue();
    }

    [Fact]
    public async Task MultiRowInsert_AndSeveralTablesInOneStatement_StoreEveryRecord()
    {
        await using var client = await LoginAsync();
        var tag = Unique("wbm");
        var frames = await client.SimpleAsync(
            $"insert into salesforce.account (name, number_of_employees) values ('{tag}-a', 7), ('{tag}-b', null), ('{tag}-c', 9) returning {Columns}");
        RawClient.Error(frames).ShouldBeNull();
        var rows = RawClient.Rows(frames);
        rows.Count.ShouldBe(3);
        foreach (var row in rows)
        {
            (await StoredEqualsUpstreamAsync(row[0]!)).ShouldBeTrue();
            var stored = RawClient.Rows(await client.SimpleAsync($"select {Columns} from salesforce.account where id = '{row[0]}'")).Single();
            row.ShouldBe(stored);
        }

        rows.Select(r => r[5]).ShouldBe(["7", "1", "9"]);

        // One statement updating an account and inserting a contact: both tables written back.
        var a = rows[0][0]!;
        var email = tag + "@x.io";
        frames = await client.SimpleAsync(
            $"with u as (update salesforce.account set name = '{tag}-z' where id = '{a}' returning id) " +
            $"insert into salesforce.contact (last_name, email, account_id) select 'Z', '{email}', id from u returning id, last_name");
        RawClient.Error(frames).ShouldBeNull();
        (await StoredEqualsUpstreamAsync(a)).ShouldBeTrue();
        RawClient.Rows(frames).Single()[0].ShouldStartWith("003");
    }

    [Fact]
    public async Task ExtendedProtocol_ReturningInBinary_UnpreparedAndPrepared()
    {
        await using var connection = await proxy.OpenAsync();
        foreach (var prepare in new[] { false, true, true })
        {
            var name = Unique("wbx");
            await using var command = new NpgsqlCommand($"insert into salesforce.account (name) values ($1) returning {Columns}", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = name });
            if (prepare)
            {
                await command.PrepareAsync(); // later executions: Bind/Execute without a Describe
            }

            await using var reader = await command.ExecuteReaderAsync();
            (await reader.ReadAsync()).ShouldBeTrue();
            var id = reader.GetString(0);
            var up = Upstream(id);
            reader.GetString(2).ShouldBe(InMemoryUpstreamWriter.OwnerId);
            reader.GetDateTime(3).ShouldBe(Utc(up["CreatedDate"]));
            reader.GetDateTime(4).ShouldBe(Utc(up["SystemModstamp"]));
            reader.GetInt32(5).ShouldBe(1);
            (await reader.ReadAsync()).ShouldBeFalse();
            await reader.DisposeAsync();
            (await StoredEqualsUpstreamAsync(id)).ShouldBeTrue();
        }
    }

    [Fact]
    public async Task ExtendedBatch_SeveralWrites_EachRowStored()
    {
        await using var connection = await proxy.OpenAsync();
        var tag = Unique("wbb");
        await using var batch = new NpgsqlBatch(connection);
        for (var i = 0; i < 3; i++)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand($"insert into salesforce.account (name) values ('{tag}-{i}') returning id, system_modstamp"));
        }

        await using var reader = await batch.ExecuteReaderAsync();
        var ids = new List<(string Id, DateTime Stamp)>();
        do
        {
            while (await reader.ReadAsync())
            {
                ids.Add((reader.GetString(0), reader.GetDateTime(1)));
            }
        }
        while (await reader.NextResultAsync());

        await reader.DisposeAsync();
        ids.Count.ShouldBe(3);
        foreach (var (id, stamp) in ids)
        {
            stamp.ShouldBe(Utc(Upstream(id)["SystemModstamp"]));
            (await StoredEqualsUpstreamAsync(id)).ShouldBeTrue();
        }
    }

    [Fact]
    public async Task ReadBackFails_StatementSucceedsWithWarning_AndTheUpstreamIdIsKept()
    {
        await using var client = await LoginAsync();
        var name = Unique("wbf");
        proxy.Upstream.FailReadBack = new HttpRequestException("connection refused");
        List<Frame> frames;
        try
        {
            frames = await client.SimpleAsync($"insert into salesforce.account (name) values ('{name}') returning id, created_date");
        }
        finally
        {
            proxy.Upstream.FailReadBack = null;
        }

        RawClient.Error(frames).ShouldBeNull();
        var warning = frames.Single(f => f.Type == BackendMessageCode.NoticeResponse).ErrorFields();
        warning['S'].ShouldBe("WARNING");
        warning['C'].ShouldBe("01000");
        warning['M'].ShouldContain("could not be read back");
        warning['D'].ShouldContain("connection refused");
        var row = RawClient.Rows(frames).Single();
        row[0].ShouldStartWith("001");
        row[1].ShouldBeNull();
        RawClient.Tags(frames).ShouldBe(["INSERT 0 1"]);
        frames[^1].Status.ShouldBe(TransactionStatus.Idle);
        var stored = RawClient.Rows(await client.SimpleAsync($"select id, created_date from salesforce.account where name = '{name}'")).Single();
        stored.ShouldBe(row);
        proxy.Upstream.Objects("Account").ContainsKey(row[0]!).ShouldBeTrue();
    }

    [Fact]
    public async Task ValueRefusedByPostgres_CommitsTheIdsWithWarning_InsideATransactionToo()
    {
        await using var client = await LoginAsync();
        var name = Unique("wbt");
        (await client.SimpleAsync("begin")).ShouldNotBeEmpty();
        proxy.Upstream.ReadBackWrongType = true;
        List<Frame> frames;
        try
        {
            frames = await client.SimpleAsync($"insert into salesforce.account (name) values ('{name}') returning id");
        }
        finally
        {
            proxy.Upstream.ReadBackWrongType = false;
        }

        RawClient.Error(frames).ShouldBeNull();
        var warning = frames.Single(f => f.Type == BackendMessageCode.NoticeResponse).ErrorFields();
        warning['D'].ShouldContain("invalid input syntax for type integer");
        frames[^1].Status.ShouldBe(TransactionStatus.InTransaction);
        var id = RawClient.Rows(frames).Single()[0]!;
        RawClient.Error(await client.SimpleAsync("commit")).ShouldBeNull();
        RawClient.Rows(await client.SimpleAsync($"select id from salesforce.account where name = '{name}'")).Single()[0].ShouldBe(id);
    }

    [Fact]
    public async Task UpdatingId_IsRefusedWith42501_AndNothingGoesUpstream()
    {
        await using var client = await LoginAsync();
        var name = Unique("wbi");
        var id = RawClient.Rows(await client.SimpleAsync($"insert into salesforce.account (name) values ('{name}') returning id")).Single()[0]!;
        var calls = proxy.Upstream.Calls.Count;
        var error = RawClient.Error(await client.SimpleAsync($"update salesforce.account set id = '001000000000999AAA' where id = '{id}'"))!;
        error['C'].ShouldBe("42501");
        error['M'].ShouldBe("the id of salesforce.account is assigned by the source and cannot be changed");
        proxy.Upstream.Calls.Count.ShouldBe(calls);
        RawClient.Rows(await client.SimpleAsync($"select id from salesforce.account where name = '{name}'")).Single()[0].ShouldBe(id);
    }

    /// <summary>
    /// A sync poll that copies a just-created record before the write-back: the write-back drops the copy without a
    /// delete tombstone (else the sync would drop the record's next read), while a real DELETE through the proxy
    /// leaves one.
    /// </summary>
    [Fact]
    public async Task SyncCopyBeforeWriteBack_IsReplacedWithoutATombstone_ARealDeleteLeavesOne()
    {
        await using var client = await LoginAsync();
        var name = Unique("wbc");
        var copied = false;
        proxy.Upstream.BeforeReadBack = async (table, ids) =>
        {
            copied = true;
            await using var sync = await proxy.OpenDirectAsync();
            await using var copy = new NpgsqlCommand(
                $"set sequin.origin = 'sync'; insert into salesforce.account (id, name) values ('{ids[0]}', '{name}')", sync);
            await copy.ExecuteNonQueryAsync();
        };
        string id;
        try
        {
            var frames = await client.SimpleAsync($"insert into salesforce.account (name) values ('{name}') returning id");
            RawClient.Error(frames).ShouldBeNull();
            id = RawClient.Rows(frames).Single()[0]!;
        }
        finally
        {
            proxy.Upstream.BeforeReadBack = null;
        }

        copied.ShouldBeTrue(); // the sync's copy existed before the write-back (which then fails on the key once)
        (await StoredEqualsUpstreamAsync(id)).ShouldBeTrue();
        await using var direct = await proxy.OpenDirectAsync();
        async Task<long> TombstonesAsync()
        {
            await using var count = new NpgsqlCommand("select count(*) from _sequin.tombstone where id = $1", direct);
            count.Parameters.AddWithValue(id);
            return (long)(await count.ExecuteScalarAsync())!;
        }

        (await TombstonesAsync()).ShouldBe(0);
        RawClient.Error(await client.SimpleAsync($"delete from salesforce.account where id = '{id}'")).ShouldBeNull();
        (await TombstonesAsync()).ShouldBe(1);
    }

    /// <summary>
    /// <c>public.drop_prepared()</c>: a DEALLOCATE ALL in dynamic SQL, whose text the proxy cannot see (neither word
    /// appears in the call), so only the write itself finds out that its kept statements are gone.
    /// </summary>
    private async Task CreateDropPreparedAsync()
    {
        await using var direct = await proxy.OpenDirectAsync();
        await using var create = new NpgsqlCommand(
            "create or replace function public.drop_prepared() returns void language plpgsql as $$ begin execute 'dealloc' || 'ate all'; end $$", direct);
        await create.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// The wrapper's statements and the write-back statement are kept prepared per session (parsed and planned once, not
    /// at every write), and the capture table is created once. A client that drops them between writes — DEALLOCATE ALL
    /// and DISCARD ALL (noticed in its SQL), a DEALLOCATE in dynamic SQL and a DROP of the capture table (not noticed:
    /// the write finds out and runs again) — still gets every write applied once and its values written back, with
    /// no warning, over both protocols; and nothing piles up.
    /// </summary>
    [Fact]
    public async Task KeptStatementsAndCaptureTable_AreReused_AndWritesSurviveWhateverDropsThem()
    {
        await CreateDropPreparedAsync();

        await using var client = await LoginAsync();
        async Task<string> InsertAsync(string name)
        {
            var frames = await client.SimpleAsync($"insert into salesforce.account (name) values ('{name}') returning id");
            RawClient.Error(frames).ShouldBeNull();
            frames.ShouldNotContain(f => f.Type == BackendMessageCode.NoticeResponse);
            return RawClient.Rows(frames).Single()[0]!;
        }

        async Task<List<string?>> KeptAsync() =>
            [.. RawClient.Rows(await client.SimpleAsync("select statement from pg_prepared_statements where name like '\\_sequin\\_kept\\_%' order by name")).Select(r => r[0])];

        var calls = proxy.Upstream.Calls.Count;
        var ids = new List<string> { await InsertAsync(Unique("kp")), await InsertAsync(Unique("kp")) };
        var kept = await KeptAsync();
        kept.ShouldContain(sql => sql!.StartsWith("update \"salesforce\".\"account\"", StringComparison.Ordinal));
        kept.ShouldContain(sql => sql!.StartsWith("select set_config('sequin.capture', 'armed:'", StringComparison.Ordinal));
        kept.ShouldContain(sql => sql!.StartsWith("select op, table_oid", StringComparison.Ordinal));
        ids.Add(await InsertAsync(Unique("kp")));
        (await KeptAsync()).ShouldBe(kept);

        foreach (var drop in new[] { "deallocate all", "select public.drop_prepared()", "drop table pg_temp.sequin_capture", "discard all" })
        {
            RawClient.Error(await client.SimpleAsync(drop)).ShouldBeNull();
            ids.Add(await InsertAsync(Unique("kp")));
            (await KeptAsync()).ShouldBe(kept, drop);
        }

        // A transaction that rolls back takes a capture table created in it along (review finding): the first write of
        // the session after a DISCARD is rolled back, then a batch of two writes — which is not run again — must find
        // the table.
        RawClient.Error(await client.SimpleAsync("discard all")).ShouldBeNull();
        RawClient.Error(await client.SimpleAsync("begin")).ShouldBeNull();
        RawClient.Error(await client.SimpleAsync($"insert into salesforce.account (name) values ('{Unique("kpr")}')")).ShouldBeNull();
        RawClient.Error(await client.SimpleAsync("rollback")).ShouldBeNull();
        var batch = new System.Buffers.ArrayBufferWriter<byte>();
        MessageWriter.WriteParse(batch, "kpb", "insert into salesforce.account (name) values ($1) returning id");
        foreach (var name in new[] { Unique("kpb"), Unique("kpb") })
        {
            MessageWriter.WriteBindExecute(batch, "kpb", parameter: name);
        }

        MessageWriter.WriteSync(batch);
        await client.SendAsync(batch.WrittenSpan.ToArray());
        var batchFrames = await client.ReadUntilReadyAsync();
        RawClient.Error(batchFrames).ShouldBeNull();
        ids.AddRange(RawClient.Rows(batchFrames).Select(r => r[0]!));

        // The extended protocol (Npgsql: Parse/Bind/Describe/Execute/Sync) after a drop the proxy does not notice.
        await using (var npgsql = await proxy.OpenAsync())
        {
            await using (var drop = new NpgsqlCommand("select public.drop_prepared()", npgsql))
            {
                await drop.ExecuteNonQueryAsync();
            }

            for (var i = 0; i < 2; i++)
            {
                await using var insert = new NpgsqlCommand("insert into salesforce.account (name) values ($1) returning id", npgsql);
                insert.Parameters.AddWithValue(Unique("kpx"));
                ids.Add((string)(await insert.ExecuteScalarAsync())!);
                await using (var dropAgain = new NpgsqlCommand("select public.drop_prepared()", npgsql))
                {
                    await dropAgain.ExecuteNonQueryAsync();
                }
            }
        }

        foreach (var id in ids)
        {
            id.ShouldStartWith("001");
            (await StoredEqualsUpstreamAsync(id)).ShouldBeTrue();
        }

        // Each write went upstream once, in one request: the rolled-back one too (a rollback cannot undo the upstream;
        // not in ids) and the batch's two inserts together (two ids) — the two offsets cancel.
        proxy.Upstream.Calls.Skip(calls).Count().ShouldBe(ids.Count);
    }

    /// <summary>
    /// A pipeline of several statements after a kept statement was dropped: dropped before it, the arming fails and
    /// nothing of the pipeline runs, so it runs again and succeeds. Dropped inside it, behind the write, the capture
    /// read fails; the pipeline is not run again (one of its statements could end the transaction unseen): it fails
    /// with 26000, nothing goes upstream or stays in the database, the session is not left in a transaction, and
    /// sending it again works.
    /// </summary>
    [Fact]
    public async Task KeptStatementDropped_InABatchOfSeveral_RunsAgainOrFailsCleanly()
    {
        await CreateDropPreparedAsync();

        var (client, _) = await RawClient.LoginAsync(proxy.Port, proxy.User, ProxyFixture.Password, proxy.Database);
        await using var disposeClient = client;
        var name = Unique("kb");
        var sql = new Dictionary<string, string>
        {
            ["kb1"] = $"insert into salesforce.account (name) values ('{name}')",
            ["kb2"] = "select public.drop_prepared()",
        };

        // One pipeline: the statements prepared anew (the drop takes the client's own too), then executed, then Sync.
        async Task<List<Frame>> BatchAsync(params string[] statements)
        {
            var batch = new System.Buffers.ArrayBufferWriter<byte>();
            foreach (var statement in statements.Distinct())
            {
                MessageWriter.WriteCloseStatement(batch, statement);
                MessageWriter.WriteParse(batch, statement, sql[statement]);
            }

            foreach (var statement in statements)
            {
                MessageWriter.WriteBindExecute(batch, statement);
            }

            MessageWriter.WriteSync(batch);
            await client.SendAsync(batch.WrittenSpan.ToArray());
            return await client.ReadUntilReadyAsync();
        }

        int Upstream() => proxy.Upstream.Objects("Account").Values.Count(r => r.GetValueOrDefault("Name") == name);
        async Task<string?> StoredAsync() =>
            RawClient.Rows(await client.SimpleAsync($"select count(*) from salesforce.account where name = '{name}'")).Single()[0];

        // A write that succeeds, so the proxy's statements are kept when each batch comes.
        RawClient.Error(await client.SimpleAsync($"insert into salesforce.account (name) values ('{name}-ok')")).ShouldBeNull();
        RawClient.Error(await client.SimpleAsync("select public.drop_prepared()")).ShouldBeNull();
        var before = await BatchAsync("kb1", "kb1");
        RawClient.Error(before).ShouldBeNull();
        before.ShouldNotContain(f => f.Type == BackendMessageCode.NoticeResponse);
        Upstream().ShouldBe(2);
        (await StoredAsync()).ShouldBe("2");

        RawClient.Error(await client.SimpleAsync($"insert into salesforce.account (name) values ('{name}-ok')")).ShouldBeNull();
        var inside = await BatchAsync("kb1", "kb2");
        var error = RawClient.Error(inside)!;
        error['C'].ShouldBe("26000");
        error['M'].ShouldContain("[Sequin] the write was not applied");
        inside[^1].Status.ShouldBe(TransactionStatus.Idle);
        Upstream().ShouldBe(2);
        (await StoredAsync()).ShouldBe("2");

        RawClient.Error(await BatchAsync("kb1", "kb1")).ShouldBeNull();
        Upstream().ShouldBe(4);
        (await StoredAsync()).ShouldBe("4");
    }

    /// <summary>
    /// The kept write-back statement finds its rows through the primary key. Its generic plan estimated 100 records and,
    /// with some ten thousand rows in the table, hash-joined them with a sequential scan of the whole table at every write.
    /// </summary>
    [Fact]
    public async Task WriteBackStatement_FindsItsRowsByPrimaryKey_NotByScanningTheTable()
    {
        await using var direct = await proxy.OpenDirectAsync();
        async Task DirectAsync(string sql)
        {
            await using var command = new NpgsqlCommand(sql, direct);
            await command.ExecuteNonQueryAsync();
        }

        await DirectAsync("set sequin.origin = 'sync'");
        await DirectAsync("insert into salesforce.account (id, name) select 'bulk' || g, 'bulk' from generate_series(1, 10000) as g");
        try
        {
            await DirectAsync("analyze salesforce.account");
            await using var client = await LoginAsync();
            var id = RawClient.Rows(await client.SimpleAsync($"insert into salesforce.account (name) values ('{Unique("pk")}') returning id")).Single()[0]!;
            (await StoredEqualsUpstreamAsync(id)).ShouldBeTrue();
            var kept = RawClient.Rows(await client.SimpleAsync(
                "select statement from pg_prepared_statements where name like '\\_sequin\\_kept\\_%' and statement like 'update \"salesforce\".\"account\"%'")).Single()[0]!;

            await DirectAsync("set plan_cache_mode = force_generic_plan");
            await DirectAsync($"prepare write_back(jsonb) as {kept}");
            var plan = new List<string>();
            await using (var explain = new NpgsqlCommand("explain execute write_back('[]')", direct))
            await using (var reader = await explain.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    plan.Add(reader.GetString(0));
                }
            }

            plan.ShouldContain(line => line.Contains("Index Cond: (id = ANY ("), string.Join("\n", plan));
            plan.ShouldNotContain(line => line.Contains("Seq Scan on account"), string.Join("\n", plan));
        }
        finally
        {
            await DirectAsync("deallocate all; reset plan_cache_mode; delete from salesforce.account where id like 'bulk%'");
        }
    }

    /// <summary>Review finding: upstream rejections inside transactions do not make kept write-back statements pile up.</summary>
    [Fact]
    public async Task RejectedWritesInTransactions_DoNotAccumulateKeptStatements()
    {
        await using var client = await LoginAsync();
        async Task<string?> CountAsync() =>
            RawClient.Rows(await client.SimpleAsync("select count(*) from pg_prepared_statements where name like '\\_sequin\\_kept\\_%'")).Single()[0];

        string? steady = null;
        for (var i = 0; i < 3; i++)
        {
            RawClient.Error(await client.SimpleAsync($"insert into salesforce.account (name) values ('{Unique("kr")}') returning id, created_date")).ShouldBeNull();
            steady ??= await CountAsync();
            RawClient.Error(await client.SimpleAsync("begin")).ShouldBeNull();
            RawClient.Error(await client.SimpleAsync("insert into salesforce.contact (last_name, email) values ('X', 'not-an-email')")).ShouldNotBeNull();
            RawClient.Error(await client.SimpleAsync("rollback")).ShouldBeNull();
        }

        (await CountAsync()).ShouldBe(steady);
    }

    /// <summary>Review finding: rows a SELECT reads over a writable CTE keep their own values (no write-back onto them).</summary>
    [Fact]
    public async Task SelectOverWritableCte_RowsKeepTheirOwnValues()
    {
        await using var client = await LoginAsync();
        var existing = Unique("ca");
        RawClient.Error(await client.SimpleAsync($"insert into salesforce.account (name) values ('{existing}')")).ShouldBeNull();
        var written = Unique("cb");
        var frames = await client.SimpleAsync(
            $"with x as (insert into salesforce.account (name) values ('{written}') returning id) select name from salesforce.account where name = '{existing}'");
        RawClient.Error(frames).ShouldBeNull();
        RawClient.Rows(frames).Single()[0].ShouldBe(existing);
    }

    /// <summary>
    /// Review finding: the id write-back splices the row's own id into SQL. With <c>standard_conforming_strings = off</c>
    /// a backslash in a client-chosen temporary id must not end the literal early: the row still gets its upstream id.
    /// (Any other client-chosen id is refused before anything goes upstream: see the next test.)
    /// </summary>
    [Fact]
    public async Task IdWriteBack_WithNonStandardStrings_HandlesABackslashInTheId()
    {
        await using var client = await LoginAsync();
        var name = Unique("bs");
        RawClient.Error(await client.SimpleAsync("set standard_conforming_strings = off")).ShouldBeNull();
        proxy.Upstream.FailReadBack = new HttpRequestException("connection refused");
        List<Frame> frames;
        try
        {
            frames = await client.SimpleAsync($"insert into salesforce.account (id, name) values ($q$_sequin_tmp_odd\\' id$q$, '{name}') returning id");
        }
        finally
        {
            proxy.Upstream.FailReadBack = null;
        }

        RawClient.Error(frames).ShouldBeNull();
        var id = RawClient.Rows(frames).Single()[0]!;
        id.ShouldStartWith("001");
        RawClient.Rows(await client.SimpleAsync($"select id from salesforce.account where name = '{name}'")).Single()[0].ShouldBe(id);
    }

    /// <summary>
    /// Review finding: a session caches a table's columns. After a column is renamed, the next write-back warns once and
    /// the columns are read again, so the write after it is written back in full.
    /// </summary>
    [Fact]
    public async Task RenamedColumn_WarnsOnce_ThenTheColumnsAreReadAgain()
    {
        await using var client = await LoginAsync();
        RawClient.Error(await client.SimpleAsync($"insert into salesforce.account (name) values ('{Unique("rn")}')")).ShouldBeNull();
        await using var admin = await proxy.OpenDirectAsync();
        await new NpgsqlCommand("alter table salesforce.account rename column owner_id to owner_ref", admin).ExecuteNonQueryAsync();
        try
        {
            var first = await client.SimpleAsync($"insert into salesforce.account (name) values ('{Unique("rn")}')");
            RawClient.Error(first).ShouldBeNull();
            first.ShouldContain(f => f.Type == BackendMessageCode.NoticeResponse);
            var name = Unique("rn");
            var second = await client.SimpleAsync($"insert into salesforce.account (name) values ('{name}') returning id, created_date");
            RawClient.Error(second).ShouldBeNull();
            second.ShouldNotContain(f => f.Type == BackendMessageCode.NoticeResponse);
            RawClient.Rows(second).Single()[1].ShouldNotBeNull();
        }
        finally
        {
            await new NpgsqlCommand("alter table salesforce.account rename column owner_ref to owner_id", admin).ExecuteNonQueryAsync();
        }
    }

    /// <summary>An INSERT that sets its own id is refused with 42501 before anything goes upstream (the source assigns ids).</summary>
    [Fact]
    public async Task InsertWithItsOwnId_IsRefusedBeforeTheUpstream()
    {
        await using var client = await LoginAsync();
        var calls = proxy.Upstream.Calls.Count;
        var frames = await client.SimpleAsync($"insert into salesforce.account (id, name) values ('001000000000000XYZ', '{Unique("own")}')");
        var error = RawClient.Error(frames).ShouldNotBeNull();
        error['C'].ShouldBe("42501");
        error['M'].ShouldContain("is assigned by the source and cannot be set");
        proxy.Upstream.Calls.Count.ShouldBe(calls);
        RawClient.Rows(await client.SimpleAsync("select count(*) from salesforce.account where id = '001000000000000XYZ'")).Single()[0].ShouldBe("0");
    }

    /// <summary>Review finding: the write-back's own delete switches tombstones off and back to the client's own setting.</summary>
    [Fact]
    public async Task WriteBack_RestoresTheClientsTombstoneSetting()
    {
        await using var client = await LoginAsync();
        RawClient.Error(await client.SimpleAsync("begin")).ShouldBeNull();
        RawClient.Error(await client.SimpleAsync("set local sequin.tombstones = off")).ShouldBeNull();
        RawClient.Error(await client.SimpleAsync($"insert into salesforce.account (name) values ('{Unique("ts")}')")).ShouldBeNull();
        RawClient.Rows(await client.SimpleAsync("select current_setting('sequin.tombstones')")).Single()[0].ShouldBe("off");
        RawClient.Error(await client.SimpleAsync("commit")).ShouldBeNull();
    }
}

/// <summary>
/// A write and the COMMIT (or ROLLBACK) of its transaction in one pipeline (ADR 0012): the write is applied upstream
/// and written back before the COMMIT runs, so nothing is committed without the upstream.
/// </summary>
public sealed class WriteAndCommitInOnePipelineTests(ProxyFixture proxy) : IClassFixture<ProxyFixture>
{
    private static string Unique(string prefix) => $"{prefix}{Guid.NewGuid():N}"[..20];

    private async Task<long> CountAsync(string name)
    {
        await using var c = await proxy.OpenDirectAsync();
        return (long)(await new NpgsqlCommand($"select count(*) from salesforce.account where name = '{name}' and id like '001%' and created_date is not null", c).ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task SimpleQuery_BeginInsertCommit_CommitsWithTheUpstreamRecord()
    {
        var (client, _) = await RawClient.LoginAsync(proxy.Port, proxy.User, ProxyFixture.Password, proxy.Database);
        await using var _c = client;
        var name = Unique("pc");
        var frames = await client.SimpleAsync($"begin; insert into salesforce.account (name) values ('{name}'); commit");
        RawClient.Error(frames).ShouldBeNull();
        RawClient.Tags(frames).ShouldBe(["BEGIN", "INSERT 0 1", "COMMIT"]);
        frames[^1].Status.ShouldBe(TransactionStatus.Idle);
        (await CountAsync(name)).ShouldBe(1);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ExtendedBatch_InsertThenCommit_BehindOneSync(bool beginInBatch)
    {
        await using var connection = await proxy.OpenAsync();
        var name = Unique("pe");
        if (!beginInBatch)
        {
            await new NpgsqlCommand("begin", connection).ExecuteNonQueryAsync();
        }

        await using (var batch = new NpgsqlBatch(connection))
        {
            if (beginInBatch)
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand("begin"));
            }

            batch.BatchCommands.Add(new NpgsqlBatchCommand($"insert into salesforce.account (name) values ('{name}') returning id, created_date"));
            batch.BatchCommands.Add(new NpgsqlBatchCommand("commit"));
            batch.BatchCommands.Add(new NpgsqlBatchCommand("select 42"));
            await using var reader = await batch.ExecuteReaderAsync();
            (await reader.ReadAsync()).ShouldBeTrue();
            reader.GetString(0).ShouldStartWith("001");
            reader.IsDBNull(1).ShouldBeFalse();
            while (await reader.NextResultAsync())
            {
                while (await reader.ReadAsync())
                {
                    reader.GetInt32(0).ShouldBe(42);
                }
            }
        }

        (await CountAsync(name)).ShouldBe(1);
        proxy.Upstream.Objects("Account").Values.Count(r => r.GetValueOrDefault("Name") == name).ShouldBe(1);

        // The session is sound afterwards: a direct write attempt (unseen by the proxy) still fails closed.
        await using var check = new NpgsqlCommand("select coalesce(current_setting('sequin.capture', true), '') = '' and not exists (select from pg_temp.sequin_capture)", connection);
        (await check.ExecuteScalarAsync()).ShouldBe(true);
    }

    [Theory]
    [InlineData("pc")]
    [InlineData("")]
    public async Task CommitThroughAPortalBoundBeforeTheWrite_AppliesTheWriteUpstreamFirst(string commitPortal)
    {
        // BEGIN; then one pipeline: Parse+Bind COMMIT to a portal, Parse+Bind+Execute an INSERT (to another portal),
        // Execute the COMMIT portal, Sync. The write must go upstream before that COMMIT ends the transaction.
        var (client, _) = await RawClient.LoginAsync(proxy.Port, proxy.User, ProxyFixture.Password, proxy.Database);
        await using var disposeClient = client;
        var name = Unique("pp");
        RawClient.Error(await client.SimpleAsync("begin")).ShouldBeNull();
        var writePortal = commitPortal == "" ? "pw" : "";
        var w = new System.Buffers.ArrayBufferWriter<byte>();
        MessageWriter.WriteParse(w, "ppc", "commit");
        MessageWriter.WriteRaw(w, FrontendMessageCode.Bind, [.. System.Text.Encoding.UTF8.GetBytes(commitPortal), 0, .. "ppc"u8, 0, 0, 0, 0, 0, 0, 0]);
        MessageWriter.WriteParse(w, "ppw", $"insert into salesforce.account (name) values ('{name}')");
        MessageWriter.WriteRaw(w, FrontendMessageCode.Bind, [.. System.Text.Encoding.UTF8.GetBytes(writePortal), 0, .. "ppw"u8, 0, 0, 0, 0, 0, 0, 0]);
        MessageWriter.WriteRaw(w, FrontendMessageCode.Execute, [.. System.Text.Encoding.UTF8.GetBytes(writePortal), 0, 0, 0, 0, 0]);
        MessageWriter.WriteRaw(w, FrontendMessageCode.Execute, [.. System.Text.Encoding.UTF8.GetBytes(commitPortal), 0, 0, 0, 0, 0]);
        MessageWriter.WriteSync(w);
        await client.SendAsync(w.WrittenSpan.ToArray());
        var frames = await client.ReadUntilReadyAsync();
        RawClient.Error(frames).ShouldBeNull();
        frames.Where(f => f.Type == BackendMessageCode.CommandComplete).Select(f => f.Tag).ShouldBe(["INSERT 0 1", "COMMIT"]);
        frames[^1].Body.ShouldBe([(byte)TransactionStatus.Idle]);

        (await CountAsync(name)).ShouldBe(1);
        proxy.Upstream.Objects("Account").Values.Count(r => r.GetValueOrDefault("Name") == name).ShouldBe(1);
        RawClient.Rows(await client.SimpleAsync("select coalesce(current_setting('sequin.capture', true), '') = '' and not exists (select from pg_temp.sequin_capture)")).Single()[0].ShouldBe("t");
    }

    [Fact]
    public async Task UnclassifiedCommitAndChain_BehindAWrite_IsCaughtByTheArming_NothingGoesUpstream()
    {
        // A COMMIT AND CHAIN the classification does not see (its text is longer than the pre-check reads) runs behind
        // a write in one pipeline: the transaction status is 'T' again, but the arming ended with the committed
        // transaction, so the safety net answers 0A000 instead of applying or rolling back the wrong transaction.
        var (client, _) = await RawClient.LoginAsync(proxy.Port, proxy.User, ProxyFixture.Password, proxy.Database);
        await using var disposeClient = client;
        var name = Unique("pcc");
        RawClient.Error(await client.SimpleAsync("begin")).ShouldBeNull();
        var w = new System.Buffers.ArrayBufferWriter<byte>();
        MessageWriter.WriteParse(w, "pcc", new string(' ', 300) + "commit and chain");
        MessageWriter.WriteParse(w, "pcw", $"insert into salesforce.account (name) values ('{name}')");
        MessageWriter.WriteSync(w);
        await client.SendAsync(w.WrittenSpan.ToArray());
        RawClient.Error(await client.ReadUntilReadyAsync()).ShouldBeNull();

        w = new System.Buffers.ArrayBufferWriter<byte>();
        MessageWriter.WriteBindExecute(w, "pcw");
        MessageWriter.WriteBindExecute(w, "pcc");
        MessageWriter.WriteSync(w);
        await client.SendAsync(w.WrittenSpan.ToArray());
        var frames = await client.ReadUntilReadyAsync();
        RawClient.Error(frames)!['C'].ShouldBe("0A000");
        proxy.Upstream.Objects("Account").Values.Count(r => r.GetValueOrDefault("Name") == name).ShouldBe(0);

        // The rollback of the chained transaction also undoes the safety net's clearing: the committed capture row
        // stays, but it names its own transaction, so no later write reads it.
        RawClient.Error(await client.SimpleAsync("rollback")).ShouldBeNull();
        RawClient.Rows(await client.SimpleAsync("select coalesce(current_setting('sequin.capture', true), '') = ''")).Single()[0].ShouldBe("t");

        // The session still writes normally afterwards, and sends only its own write upstream.
        var calls = proxy.Upstream.Calls.Count;
        RawClient.Error(await client.SimpleAsync($"insert into salesforce.account (name) values ('{name}-after')")).ShouldBeNull();
        proxy.Upstream.Objects("Account").Values.Count(r => r.GetValueOrDefault("Name") == name + "-after").ShouldBe(1);
        proxy.Upstream.Objects("Account").Values.Count(r => r.GetValueOrDefault("Name") == name).ShouldBe(0);
        proxy.Upstream.Calls.Skip(calls).Select(c => c.Rows).ShouldBe([1]);
        RawClient.Rows(await client.SimpleAsync("select count(*) from pg_temp.sequin_capture")).Single()[0].ShouldBe("0");
    }

    [Fact]
    public async Task ExtendedBatch_RejectedWriteThenCommit_CommitsNothing()
    {
        await using var connection = await proxy.OpenAsync();
        var name = Unique("pr");
        await new NpgsqlCommand("begin", connection).ExecuteNonQueryAsync();
        await using (var batch = new NpgsqlBatch(connection))
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand($"insert into salesforce.account (name) values ('{name}')"));
            batch.BatchCommands.Add(new NpgsqlBatchCommand("insert into salesforce.contact (last_name, email) values ('X', 'not-an-email')"));
            batch.BatchCommands.Add(new NpgsqlBatchCommand("commit"));
            var e = await Should.ThrowAsync<PostgresException>(() => batch.ExecuteNonQueryAsync());
            e.SqlState.ShouldBe("23514");
        }

        await new NpgsqlCommand("rollback", connection).ExecuteNonQueryAsync();
        (await CountAsync(name)).ShouldBe(0);
    }

    /// <summary>
    /// Review finding: a COMMIT prepared before the write batch (Npgsql's Prepare of a batch) and bound behind a write in
    /// one pipeline must still end the batch first. The rejected write commits nothing, and the session stays sound
    /// (later writes work, the capture is disarmed and empty).
    /// </summary>
    [Fact]
    public async Task PreparedBatch_RejectedWriteThenPreparedCommit_CommitsNothing_SessionStaysSound()
    {
        await using var connection = await proxy.OpenAsync();
        var name = Unique("pp");
        await new NpgsqlCommand("begin", connection).ExecuteNonQueryAsync();
        await using (var batch = new NpgsqlBatch(connection))
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand($"insert into salesforce.contact (last_name, email) values ('{name}', 'not-an-email') returning id"));
            batch.BatchCommands.Add(new NpgsqlBatchCommand("commit"));
            await batch.PrepareAsync();
            var e = await Should.ThrowAsync<PostgresException>(() => batch.ExecuteNonQueryAsync());
            e.SqlState.ShouldBe("23514");
        }

        await new NpgsqlCommand("rollback", connection).ExecuteNonQueryAsync();
        await using (var c = await proxy.OpenDirectAsync())
        {
            (await new NpgsqlCommand($"select count(*) from salesforce.contact where last_name = '{name}'", c).ExecuteScalarAsync()).ShouldBe(0L);
        }

        var ok = Unique("pp");
        await new NpgsqlCommand($"insert into salesforce.account (name) values ('{ok}')", connection).ExecuteNonQueryAsync();
        (await CountAsync(ok)).ShouldBe(1);
        (await new NpgsqlCommand("select coalesce(current_setting('sequin.capture', true), '') = '' and not exists (select from pg_temp.sequin_capture)", connection).ExecuteScalarAsync()).ShouldBe(true);
    }
}
