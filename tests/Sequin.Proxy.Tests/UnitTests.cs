using Sequin.Proxy.Auth;
using Sequin.Proxy.Writes;
using Shouldly;

namespace Sequin.Proxy.Tests;

public sealed class SqlTextTests
{
    [Theory]
    [InlineData("insert into t values (1)", true)]
    [InlineData("  UPDATE t set a = 1", true)]
    [InlineData("with x as (delete from t returning *) select * from x", true)]
    [InlineData("merge into t using s on true when matched then do nothing", true)]
    [InlineData("select 'insert into t' from t", false)]
    [InlineData("select 1 -- delete from t", false)]
    [InlineData("select /* update /* nested */ t */ 1", false)]
    [InlineData("select $$ delete $$, $tag$ update $tag$", false)]
    [InlineData("select \"update\" from t", false)]
    [InlineData("select updated_at, insert_count from t", false)]
    [InlineData("select E'it\\'s insert'", false)]
    public void MayWrite_SeesKeywordsOutsideLiteralsOnly(string sql, bool expected) => SqlText.MayWrite(sql).ShouldBe(expected);

    [Fact]
    public void MayWrite_AllocatesNothing()
    {
        // The inspected path classifies every Query and Parse with it (ProxySession.Pump.cs): a read must not allocate.
        var read = "SELECT abalance FROM pgbench_accounts WHERE aid = $1;".AsSpan();
        var write = "update t set a = 1".AsSpan();
        SqlText.MayWrite(read).ShouldBeFalse();
        var before = GC.GetAllocatedBytesForCurrentThread();
        var writes = 0;
        for (var i = 0; i < 1000; i++)
        {
            writes += (SqlText.MayWrite(read) ? 1 : 0) + (SqlText.MayWrite(write) ? 1 : 0);
        }

        (GC.GetAllocatedBytesForCurrentThread() - before).ShouldBe(0);
        writes.ShouldBe(1000);
    }

    [Theory]
    [InlineData("commit", true)]
    [InlineData("  COMMIT WORK", true)]
    [InlineData("end transaction", true)]
    [InlineData("abort", true)]
    [InlineData("rollback", true)]
    [InlineData("/* x */ rollback and chain", true)]
    [InlineData("prepare transaction 'gx'", true)]
    [InlineData("rollback to savepoint s1", false)]
    [InlineData("rollback work to s1", false)]
    [InlineData("commit prepared 'gx'", false)]
    [InlineData("prepare q as select 1", false)]
    [InlineData("select 'commit'", false)]
    [InlineData("release savepoint s1", false)]
    public void EndsTransaction_OnlyForStatementsEndingTheBlock(string sql, bool expected) => SqlText.EndsTransaction(sql).ShouldBe(expected);

    [Fact]
    public void SplitStatements_RespectsQuotes()
    {
        SqlText.SplitStatements("select ';'; insert into t values ($$;$$);  ;select 3;")
            .ShouldBe(["select ';'", "insert into t values ($$;$$)", "select 3"]);
    }
}

public sealed class ScramTests
{
    [Fact]
    public void Verifier_RoundTripsPostgresTextForm()
    {
        var v = ScramVerifier.FromPassword("pencil");
        var parsed = ScramVerifier.TryParse(v.ToString())!;
        parsed.StoredKey.ShouldBe(v.StoredKey);
        parsed.ServerKey.ShouldBe(v.ServerKey);
        parsed.Iterations.ShouldBe(4096);
    }

    [Fact]
    public void ClientAndServer_Agree_AndWrongPasswordFails()
    {
        var verifier = ScramVerifier.FromPassword("pencil");
        foreach (var (password, ok) in new[] { ("pencil", true), ("Pencil", false) })
        {
            var server = new ScramServer(verifier);
            var client = new ScramClient(password);
            var serverFirst = server.HandleClientFirst(client.ClientFirst())!;
            var final = server.HandleClientFinal(client.ClientFinal(serverFirst));
            (final is not null).ShouldBe(ok);
            if (final is not null)
            {
                client.VerifyServerFinal(final).ShouldBeTrue();
            }
        }
    }

    [Fact]
    public void ChannelBindingFlagP_IsRefused() =>
        new ScramServer(ScramVerifier.FromPassword("x")).HandleClientFirst("p=tls-server-end-point,,n=*,r=abc").ShouldBeNull();
}
