using System.Text;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace Sequin.Platform.Data;

/// <summary>
/// EF Core mapping of the platform database for queries. The schema itself is owned by the SQL migrations
/// (<c>Migrations/*.sql</c>); this context never creates or alters tables. Tables and columns are snake_case.
/// </summary>
public class PlatformDbContext : IdentityUserContext<User, Guid>
{
    public PlatformDbContext(DbContextOptions<PlatformDbContext> options)
        : base(options)
    {
    }

    /// <summary>For derived contexts (<see cref="TenantDbContext"/>) with their own options type.</summary>
    protected PlatformDbContext(DbContextOptions options)
        : base(options)
    {
    }

    public DbSet<Organization> Organizations => Set<Organization>();
    public DbSet<Membership> Memberships => Set<Membership>();
    public DbSet<Invitation> Invitations => Set<Invitation>();
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();
    public DbSet<SourceConnection> SourceConnections => Set<SourceConnection>();
    public DbSet<Destination> Destinations => Set<Destination>();
    public DbSet<Sync> Syncs => Set<Sync>();
    public DbSet<SyncTable> SyncTables => Set<SyncTable>();
    public DbSet<SyncColumn> SyncColumns => Set<SyncColumn>();
    public DbSet<ProxyCredential> ProxyCredentials => Set<ProxyCredential>();
    public DbSet<AuditEvent> AuditEvents => Set<AuditEvent>();
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();
    public DbSet<OAuthState> OAuthStates => Set<OAuthState>();

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);

        builder.Entity<User>().ToTable("users");
        builder.Entity<IdentityUserClaim<Guid>>().ToTable("user_claims");
        builder.Entity<IdentityUserLogin<Guid>>().ToTable("user_logins");
        builder.Entity<IdentityUserToken<Guid>>().ToTable("user_tokens");

        builder.Entity<Organization>().ToTable("organizations");
        builder.Entity<Membership>(e =>
        {
            e.ToTable("memberships");
            e.HasKey(m => new { m.OrgId, m.UserId });
        });
        builder.Entity<Invitation>().ToTable("invitations");
        builder.Entity<ApiKey>().ToTable("api_keys");
        builder.Entity<SourceConnection>().ToTable("source_connections");
        builder.Entity<Destination>().ToTable("destinations");
        builder.Entity<Sync>().ToTable("syncs");
        builder.Entity<SyncTable>().ToTable("sync_tables");
        builder.Entity<SyncColumn>(e =>
        {
            e.ToTable("sync_columns");
            e.HasKey(c => new { c.SyncTableId, c.FieldName });
        });
        builder.Entity<ProxyCredential>().ToTable("proxy_credentials");
        builder.Entity<AuditEvent>(e =>
        {
            e.ToTable("audit_events");
            e.Property(a => a.Data).HasColumnType("jsonb");
        });
        builder.Entity<DataProtectionKey>().ToTable("data_protection_keys");
        builder.Entity<OAuthState>(e =>
        {
            e.ToTable("oauth_states");
            e.HasKey(s => s.StateHash);
        });

        // Relationships without navigations, so SaveChanges orders inserts parent-first.
        builder.Entity<Membership>().HasOne<Organization>().WithMany().HasForeignKey(m => m.OrgId);
        builder.Entity<Membership>().HasOne<User>().WithMany().HasForeignKey(m => m.UserId);
        builder.Entity<Invitation>().HasOne<Organization>().WithMany().HasForeignKey(i => i.OrgId);
        builder.Entity<ApiKey>().HasOne<Organization>().WithMany().HasForeignKey(k => k.OrgId);
        builder.Entity<SourceConnection>().HasOne<Organization>().WithMany().HasForeignKey(c => c.OrgId);
        builder.Entity<Destination>().HasOne<Organization>().WithMany().HasForeignKey(d => d.OrgId);
        builder.Entity<Sync>().HasOne<Organization>().WithMany().HasForeignKey(s => s.OrgId);
        builder.Entity<Sync>().HasOne<SourceConnection>().WithMany().HasForeignKey(s => s.ConnectionId);
        builder.Entity<Sync>().HasOne<Destination>().WithMany().HasForeignKey(s => s.DestinationId);
        builder.Entity<SyncTable>().HasOne<Sync>().WithMany().HasForeignKey(t => t.SyncId);
        builder.Entity<SyncColumn>().HasOne<SyncTable>().WithMany().HasForeignKey(c => c.SyncTableId);
        builder.Entity<ProxyCredential>().HasOne<Organization>().WithMany().HasForeignKey(p => p.OrgId);
        builder.Entity<ProxyCredential>().HasOne<Sync>().WithMany().HasForeignKey(p => p.SyncId);
        builder.Entity<SyncTable>().HasOne<Organization>().WithMany().HasForeignKey(t => t.OrgId);
        builder.Entity<OAuthState>().HasOne<Organization>().WithMany().HasForeignKey(s => s.OrgId);
        builder.Entity<AuditEvent>().HasOne<Organization>().WithMany().HasForeignKey(a => a.OrgId);

        foreach (var entity in builder.Model.GetEntityTypes())
        {
            foreach (var property in entity.GetProperties())
            {
                property.SetColumnName(ToSnakeCase(property.Name));
            }
        }
    }

    /// <summary><c>NormalizedUserName</c> → <c>normalized_user_name</c>; <c>OrgId</c> → <c>org_id</c>.</summary>
    internal static string ToSnakeCase(string name)
    {
        var sb = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                var previousIsLower = i > 0 && (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1]));
                var nextIsLower = i + 1 < name.Length && char.IsLower(name[i + 1]);
                if (i > 0 && (previousIsLower || (nextIsLower && char.IsUpper(name[i - 1]))))
                {
                    sb.Append('_');
                }

                sb.Append(char.ToLowerInvariant(c));
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }
}
