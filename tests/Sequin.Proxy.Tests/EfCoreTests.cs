using System.ComponentModel.DataAnnotations.Schema;
using Microsoft.EntityFrameworkCore;
using Sequin.Proxy.Tests.Support;
using Shouldly;

namespace Sequin.Proxy.Tests;

/// <summary>EF Core SaveChanges through the proxy: needs exact row counts and RETURNING with the real id.</summary>
public sealed class EfCoreTests(ProxyFixture proxy) : IClassFixture<ProxyFixture>
{
    [Table("account", Schema = "salesforce")]
    public sealed class Account
    {
        [Column("id")]
        [DatabaseGenerated(DatabaseGeneratedOption.Identity)]
        public string Id { get; set; } = null!;

        [Column("name")]
        public string? Name { get; set; }
    }

    private sealed class SalesforceContext(DbContextOptions<SalesforceContext> options) : DbContext(options)
    {
        public DbSet<Account> Accounts => Set<Account>();

        // The database assigns the (temporary) id; the proxy swaps in the upstream id in RETURNING.
        protected override void OnModelCreating(ModelBuilder modelBuilder) =>
            modelBuilder.Entity<Account>().Property(a => a.Id).HasDefaultValueSql("('_sequin_tmp_' || gen_random_uuid())");
    }

    private SalesforceContext Context() =>
        new(new DbContextOptionsBuilder<SalesforceContext>().UseNpgsql(proxy.ProxyConnectionString()).Options);

    [Fact]
    public async Task SaveChanges_InsertUpdateDelete_RoundTrip()
    {
        var name = "ef-" + Guid.NewGuid().ToString("N")[..8];
        string id;
        await using (var db = Context())
        {
            var account = new Account { Name = name };
            db.Accounts.Add(account);
            (await db.SaveChangesAsync()).ShouldBe(1);
            account.Id.ShouldStartWith("001");
            id = account.Id;
        }

        proxy.Upstream.Objects("Account")[id]["Name"].ShouldBe(name);

        await using (var db = Context())
        {
            var account = await db.Accounts.SingleAsync(a => a.Id == id);
            account.Name = name + "-renamed";
            (await db.SaveChangesAsync()).ShouldBe(1);
        }

        proxy.Upstream.Objects("Account")[id]["Name"].ShouldBe(name + "-renamed");

        await using (var db = Context())
        {
            db.Accounts.Add(new Account { Name = name + "-b" });
            db.Accounts.Add(new Account { Name = name + "-c" });
            db.Accounts.Remove(await db.Accounts.SingleAsync(a => a.Id == id));
            (await db.SaveChangesAsync()).ShouldBe(3);
        }

        proxy.Upstream.Objects("Account").ContainsKey(id).ShouldBeFalse();
        await using (var db = Context())
        {
            (await db.Accounts.CountAsync(a => a.Name!.StartsWith(name))).ShouldBe(2);
            (await db.Accounts.Where(a => a.Name!.StartsWith(name)).AllAsync(a => a.Id.StartsWith("001"))).ShouldBeTrue();
        }
    }
}
