using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Sequin.Platform.Migrations;
using Sequin.Testing;
using Shouldly;

namespace Sequin.Platform.Tests;

public sealed class MigratorTests : IAsyncLifetime
{
    private string _connectionString = "";
    private NpgsqlDataSource _dataSource = null!;

    public async ValueTask InitializeAsync()
    {
        _connectionString = await PostgresServer.Instance.CreateDatabaseAsync("mig");
        _dataSource = NpgsqlDataSource.Create(_connectionString);
    }

    public async ValueTask DisposeAsync()
    {
        await _dataSource.DisposeAsync();
        await PostgresServer.Instance.DropDatabaseAsync(_connectionString);
    }

    private Migrator Create(IMigrationSource source) => new(_dataSource, source, NullLogger<Migrator>.Instance);

    private static ListMigrationSource Source(params (string File, string Sql)[] files) =>
        new(files.Select(f => Migration.FromFile(f.File, f.Sql)));

    private async Task<T> ScalarAsync<T>(string sql)
    {
        await using var command = _dataSource.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task MigrateAsync_EmptyDatabase_AppliesEveryPlatformMigrationWithChecksums()
    {
        var source = new EmbeddedMigrationSource();
        var applied = await Create(source).MigrateAsync();

        applied.Select(m => m.FileName).ShouldBe(source.Load().Select(m => m.FileName));
        applied.Count.ShouldBeGreaterThanOrEqualTo(2);
        (await ScalarAsync<long>("select count(*) from schema_migrations")).ShouldBe(applied.Count);
        (await ScalarAsync<string>("select checksum from schema_migrations where version = 1"))
            .ShouldBe(source.Load()[0].Checksum);
        foreach (var table in new[] { "organizations", "users", "memberships", "api_keys", "source_connections", "syncs",
                     "sync_tables", "sync_columns", "destinations", "proxy_credentials", "quartz.qrtz_job_details", "quartz.qrtz_locks" })
        {
            (await ScalarAsync<bool>($"select to_regclass('{table}') is not null")).ShouldBeTrue(table);
        }
    }

    [Fact]
    public async Task MigrateAsync_SecondRun_AppliesNothingAndKeepsData()
    {
        var migrator = Create(new EmbeddedMigrationSource());
        await migrator.MigrateAsync();
        await using (var insert = _dataSource.CreateCommand("insert into organizations (id, name, slug) values (gen_random_uuid(), 'Acme', 'acme')"))
        {
            await insert.ExecuteNonQueryAsync();
        }

        (await migrator.MigrateAsync()).ShouldBeEmpty();
        (await ScalarAsync<long>("select count(*) from organizations")).ShouldBe(1);
        (await migrator.GetStatusAsync()).IsUpToDate.ShouldBeTrue();
    }

    [Fact]
    public async Task MigrateAsync_AppliedMigrationEdited_RefusesAndNamesTheFile()
    {
        await Create(Source(("0001_a.sql", "create table a (id int);"))).MigrateAsync();

        var edited = Create(Source(("0001_a.sql", "create table a (id bigint);"), ("0002_b.sql", "create table b (id int);")));
        var error = await Should.ThrowAsync<MigrationException>(() => edited.MigrateAsync());

        error.FileName.ShouldBe("0001_a.sql");
        error.Message.ShouldContain("was changed after it was applied");
        (await ScalarAsync<bool>("select to_regclass('b') is null")).ShouldBeTrue("nothing after a refusal may run");
        (await edited.GetStatusAsync()).IsUpToDate.ShouldBeFalse();
    }

    [Fact]
    public async Task MigrateAsync_LineEndingsOnly_AreNotAChange()
    {
        await Create(Source(("0001_a.sql", "create table a (id int);\nselect 1;\n"))).MigrateAsync();
        (await Create(Source(("0001_a.sql", "create table a (id int);\r\nselect 1;\r\n"))).MigrateAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task MigrateAsync_DatabaseNewerThanBuild_Refuses()
    {
        await Create(Source(("0001_a.sql", "select 1;"), ("0002_b.sql", "select 2;"))).MigrateAsync();

        var older = Create(Source(("0001_a.sql", "select 1;")));
        var error = await Should.ThrowAsync<MigrationException>(() => older.MigrateAsync());
        error.FileName.ShouldBe("0002_b.sql");
        error.Message.ShouldContain("does not contain");
    }

    [Fact]
    public async Task MigrateAsync_FailingMigration_RollsBackThatMigrationOnlyAndNamesTheFile()
    {
        var source = Source(
            ("0001_ok.sql", "create table ok (id int);"),
            ("0002_broken.sql", "create table half (id int);\ninsert into half values (1);\nselect * from no_such_table;"));

        var error = await Should.ThrowAsync<MigrationException>(() => Create(source).MigrateAsync());

        error.FileName.ShouldBe("0002_broken.sql");
        error.Message.ShouldContain("0002_broken.sql");
        error.Message.ShouldContain("42P01");
        (await ScalarAsync<bool>("select to_regclass('ok') is not null")).ShouldBeTrue();
        (await ScalarAsync<bool>("select to_regclass('half') is null")).ShouldBeTrue("the failed migration must be rolled back");
        (await ScalarAsync<long>("select count(*) from schema_migrations")).ShouldBe(1);
    }

    [Fact]
    public async Task MigrateAsync_ConcurrentMigrators_ApplyEachMigrationExactlyOnce()
    {
        // The slow first migration makes the migrators overlap; without the advisory lock the
        // second 'create table' would fail with 42P07 or the insert into schema_migrations with 23505.
        var source = Source(
            ("0001_slow.sql", "select pg_sleep(0.5); create table counter (n int); insert into counter values (1);"),
            ("0002_more.sql", "update counter set n = n + 1;"));

        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => Create(source).MigrateAsync())));

        results.Sum(r => r.Count).ShouldBe(2);
        (await ScalarAsync<int>("select n from counter")).ShouldBe(2);
        (await ScalarAsync<long>("select count(*) from schema_migrations")).ShouldBe(2);
    }

    [Fact]
    public void FromFile_BadName_Throws()
    {
        Should.Throw<MigrationException>(() => Migration.FromFile("1_x.sql", "")).FileName.ShouldBe("1_x.sql");
        Should.Throw<MigrationException>(() => new ListMigrationSource([
            Migration.FromFile("0001_a.sql", ""), Migration.FromFile("0001_b.sql", "")]));
    }
}
