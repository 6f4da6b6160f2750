using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Sequin.Platform.Data;
using Sequin.Platform.Migrations;
using Sequin.Testing;
using Shouldly;

namespace Sequin.Platform.Tests;

public sealed class PlatformDbContextTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private NpgsqlDataSource _dataSource = null!;

    public async ValueTask InitializeAsync()
    {
        _dataSource = NpgsqlDataSource.Create(database.ConnectionString);
        await new Migrator(_dataSource, new EmbeddedMigrationSource(), NullLogger<Migrator>.Instance).MigrateAsync();
    }

    public async ValueTask DisposeAsync() => await _dataSource.DisposeAsync();

    private PlatformDbContext CreateContext() =>
        new(new DbContextOptionsBuilder<PlatformDbContext>().UseNpgsql(_dataSource).Options);

    [Fact]
    public async Task Model_EveryMappedEntity_MatchesTheMigratedSchema()
    {
        await using var db = CreateContext();
        // Selecting every mapped column of every entity fails with 42703/42P01 if the model and SQL disagree.
        foreach (var entity in db.Model.GetEntityTypes())
        {
            var table = entity.GetTableName()!;
            var columns = entity.GetProperties().Select(p => p.GetColumnName()).ToList();
            await using var command = _dataSource.CreateCommand($"select {string.Join(", ", columns)} from {table} limit 0");
            await command.ExecuteNonQueryAsync();
        }

        db.Model.GetEntityTypes().Count().ShouldBeGreaterThanOrEqualTo(15);
    }

    [Fact]
    public async Task SaveChanges_TenantGraph_RoundTripsThroughSnakeCaseTables()
    {
        var orgId = Guid.NewGuid();
        var userId = Guid.NewGuid();
        var now = DateTimeOffset.UtcNow;
        await using (var db = CreateContext())
        {
            db.Organizations.Add(new Organization { Id = orgId, Name = "Acme", Slug = $"acme-{orgId:N}"[..20], CreatedAt = now });
            db.Users.Add(new User { Id = userId, UserName = "ada@example.com", NormalizedUserName = "ADA@EXAMPLE.COM", Email = "ada@example.com", CreatedAt = now });
            db.Memberships.Add(new Membership { OrgId = orgId, UserId = userId, Role = OrganizationRoles.Owner, CreatedAt = now });
            db.ApiKeys.Add(new ApiKey { Id = Guid.NewGuid(), OrgId = orgId, Name = "ci", Prefix = $"sqn_{orgId:N}"[..12], SecretHash = [1, 2, 3], CreatedAt = now });
            db.AuditEvents.Add(new AuditEvent { OrgId = orgId, ActorUserId = userId, Action = "org.created", Data = """{"name":"Acme"}""", At = now });
            await db.SaveChangesAsync();
        }

        await using (var db = CreateContext())
        {
            var membership = await db.Memberships.SingleAsync(m => m.OrgId == orgId);
            membership.UserId.ShouldBe(userId);
            membership.Role.ShouldBe("owner");
            (await db.Users.SingleAsync(u => u.Id == userId)).NormalizedUserName.ShouldBe("ADA@EXAMPLE.COM");
            (await db.AuditEvents.SingleAsync(a => a.OrgId == orgId)).Data!.ShouldContain("Acme");
        }

        await using var check = _dataSource.CreateCommand("select normalized_user_name from users where id = $1");
        check.Parameters.AddWithValue(userId);
        (await check.ExecuteScalarAsync()).ShouldBe("ADA@EXAMPLE.COM");
    }

    [Fact]
    public async Task Database_BadRole_IsRejectedByCheckConstraint()
    {
        await using var db = CreateContext();
        var orgId = Guid.NewGuid();
        db.Organizations.Add(new Organization { Id = orgId, Name = "X", Slug = $"x-{orgId:N}"[..12] });
        db.Memberships.Add(new Membership { OrgId = orgId, UserId = Guid.NewGuid(), Role = "superuser" });
        var error = await Should.ThrowAsync<DbUpdateException>(() => db.SaveChangesAsync());
        error.InnerException.ShouldBeOfType<PostgresException>().SqlState.ShouldBeOneOf("23514", "23503");
    }

    [Theory]
    [InlineData("NormalizedUserName", "normalized_user_name")]
    [InlineData("OrgId", "org_id")]
    [InlineData("Id", "id")]
    [InlineData("PgType", "pg_type")]
    [InlineData("SslMode", "ssl_mode")]
    public void ToSnakeCase_PropertyNames_MatchSqlColumns(string property, string column) =>
        PlatformDbContext.ToSnakeCase(property).ShouldBe(column);
}
