using Npgsql;
using Sequin.Proxy.Protocol;
using Sequin.Proxy.Tests.Support;
using Shouldly;

namespace Sequin.Proxy.Tests;

public sealed class StartupTests(ProxyFixture proxy) : IClassFixture<ProxyFixture>
{
    [Fact]
    public async Task Npgsql_ScramWithGs2Y_ConnectsAsBackendRole()
    {
        // Npgsql sends gs2 'y' because the proxy does not offer SCRAM-SHA-256-PLUS.
        await using var connection = await proxy.OpenAsync();
        await using var command = new NpgsqlCommand("select current_user, session_user, current_database()", connection);
        await using var reader = await command.ExecuteReaderAsync();
        (await reader.ReadAsync()).ShouldBeTrue();
        reader.GetString(0).ShouldBe(proxy.BackendRole);
        reader.GetString(1).ShouldBe(proxy.BackendRole);
        reader.GetString(2).ShouldBe(proxy.Database);
    }

    [Theory]
    [InlineData('n')]
    [InlineData('y')]
    public async Task RawClient_BothGs2Flags_Authenticate(char gs2)
    {
        var (client, startup) = await RawClient.LoginAsync(proxy.Port, proxy.User, ProxyFixture.Password, proxy.Database, gs2);
        await using var _ = client;
        startup[^1].Type.ShouldBe(BackendMessageCode.ReadyForQuery);
        var parameters = startup.Where(f => f.Type == BackendMessageCode.ParameterStatus)
            .Select(f => System.Text.Encoding.UTF8.GetString(f.Body).Split('\0')).ToDictionary(p => p[0], p => p[1]);
        parameters["client_encoding"].ShouldBe("UTF8");
        parameters["DateStyle"].ShouldStartWith("ISO");
        parameters["application_name"].ShouldBe("raw");
        parameters.ShouldContainKey("server_version");
        startup.ShouldContain(f => f.Type == BackendMessageCode.BackendKeyData);
    }

    [Fact]
    public async Task Tls_NpgsqlRequire_Works()
    {
        await using var connection = await proxy.OpenAsync(b =>
        {
            b.SslMode = SslMode.Require;
        });
        await using var command = new NpgsqlCommand("select 42", connection);
        (await command.ExecuteScalarAsync()).ShouldBe(42);
    }

    [Fact]
    public async Task TlsRequired_RefusesPlainStartup_With28000_AndAcceptsTls()
    {
        var options = new ProxyOptions
        {
            Host = "127.0.0.1", Port = 0, Backend = proxy.Options.Backend, Credentials = proxy.Options.Credentials,
            Tls = new TlsOptions { Required = true },
        };
        using var server = proxy.StartServer(options);
        await server.StartAsync(CancellationToken.None);
        try
        {
            var plain = new NpgsqlConnection(proxy.ProxyConnectionString(b => b.Port = server.EndPoint.Port));
            await using (plain)
            {
                var e = await Should.ThrowAsync<PostgresException>(() => plain.OpenAsync());
                e.SqlState.ShouldBe("28000");
            }

            await using var tls = new NpgsqlConnection(proxy.ProxyConnectionString(b =>
            {
                b.Port = server.EndPoint.Port;
                b.SslMode = SslMode.Require;
            }));
            await tls.OpenAsync();
            (await new NpgsqlCommand("select 1", tls).ExecuteScalarAsync()).ShouldBe(1);
        }
        finally
        {
            await server.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task WrongPassword_Is28P01()
    {
        var e = await Should.ThrowAsync<PostgresException>(() => proxy.OpenAsync(b => b.Password = "wrong"));
        e.SqlState.ShouldBe("28P01");
        proxy.Logs.Lines.ShouldContain(l => l.Contains("authentication failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UnknownUser_Is28000()
    {
        var e = await Should.ThrowAsync<PostgresException>(() => proxy.OpenAsync(b => b.Username = "nobody"));
        e.SqlState.ShouldBe("28000");
    }

    [Fact]
    public async Task UnknownDatabase_Is3D000()
    {
        var e = await Should.ThrowAsync<PostgresException>(() => proxy.OpenAsync(b => b.Database = "elsewhere"));
        e.SqlState.ShouldBe("3D000");
    }

    [Fact]
    public async Task GssEncRequest_AnsweredN_ThenStartupContinues()
    {
        await using var client = await RawClient.ConnectAsync(proxy.Port);
        var packet = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(packet, 8);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(packet.AsSpan(4), StartupCode.GssEncRequest);
        await client.SendAsync(packet);
        (await client.ReadByteAsync()).ShouldBe('N');
        await client.SendStartupAsync(new() { ["user"] = proxy.User, ["database"] = proxy.Database });
        var frames = await client.AuthenticateAsync(ProxyFixture.Password, 'n');
        frames[^1].Type.ShouldBe(BackendMessageCode.ReadyForQuery);
    }

    [Fact]
    public async Task SslRequest_WithBytesBehindIt_IsRefused()
    {
        await using var client = await RawClient.ConnectAsync(proxy.Port);
        var packet = new byte[8 + 20];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(packet, 8);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(packet.AsSpan(4), StartupCode.SslRequest);
        await client.SendAsync(packet);
        await Task.Delay(50);
        var frame = await client.ReadAsync();
        frame.ErrorFields()['C'].ShouldBe("08P01");
        (await client.IsClosedAsync(TimeSpan.FromSeconds(5))).ShouldBeTrue();
    }

    [Fact]
    public async Task NewerMinorAndPqOptions_GetNegotiateProtocolVersion()
    {
        await using var client = await RawClient.ConnectAsync(proxy.Port);
        await client.SendStartupAsync(new() { ["user"] = proxy.User, ["database"] = proxy.Database, ["_pq_.test_option"] = "x", ["extra_float_digits"] = "3" },
            protocol: (3 << 16) | 2);
        var npv = await client.ReadAsync();
        npv.Type.ShouldBe(BackendMessageCode.NegotiateProtocolVersion);
        System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(npv.Body).ShouldBe(0);
        System.Text.Encoding.UTF8.GetString(npv.Body, 8, npv.Body.Length - 8).ShouldBe("_pq_.test_option\0");
        var frames = await client.AuthenticateAsync(ProxyFixture.Password, 'n');
        frames[^1].Type.ShouldBe(BackendMessageCode.ReadyForQuery);
    }

    [Fact]
    public async Task TooManyConnections_Is53300_AndOthersKeepWorking()
    {
        var options = new ProxyOptions
        {
            Host = "127.0.0.1", Port = 0, MaxConnections = 2, Backend = proxy.Options.Backend, Credentials = proxy.Options.Credentials,
        };
        using var server = proxy.StartServer(options);
        await server.StartAsync(CancellationToken.None);
        try
        {
            var cs = proxy.ProxyConnectionString(b => b.Port = server.EndPoint.Port);
            await using var a = new NpgsqlConnection(cs);
            await using var b = new NpgsqlConnection(cs);
            await a.OpenAsync();
            await b.OpenAsync();
            await using var c = new NpgsqlConnection(cs);
            var e = await Should.ThrowAsync<PostgresException>(() => c.OpenAsync());
            e.SqlState.ShouldBe("53300");
            await using var command = new NpgsqlCommand("select 1", a);
            (await command.ExecuteScalarAsync()).ShouldBe(1);
        }
        finally
        {
            await server.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task CancelRequest_IsMappedToTheBackend()
    {
        var (client, startup) = await RawClient.LoginAsync(proxy.Port, proxy.User, ProxyFixture.Password, proxy.Database);
        await using var _ = client;
        var key = startup.Single(f => f.Type == BackendMessageCode.BackendKeyData).Body;
        var started = System.Diagnostics.Stopwatch.StartNew();
        await client.QueryAsync("select pg_sleep(30)");
        await Task.Delay(300);
        await using (var canceller = await RawClient.ConnectAsync(proxy.Port))
        {
            var packet = new byte[16];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(packet, 16);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(packet.AsSpan(4), StartupCode.CancelRequest);
            key.CopyTo(packet, 8);
            await canceller.SendAsync(packet);
            (await canceller.IsClosedAsync(TimeSpan.FromSeconds(5))).ShouldBeTrue();
        }

        var frames = await client.ReadUntilReadyAsync();
        RawClient.Error(frames)!['C'].ShouldBe("57014");
        started.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(20));
        RawClient.Rows(await client.SimpleAsync("select 1")).Single()[0].ShouldBe("1");
    }
}
