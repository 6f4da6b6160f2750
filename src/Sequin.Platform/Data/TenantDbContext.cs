using Microsoft.EntityFrameworkCore;

namespace Sequin.Platform.Data;

/// <summary>
/// The organization whose data a request may see. Set once per request by the control plane's organization
/// access check, after it verified the caller's membership or API key; never set from user input directly.
/// </summary>
public sealed class TenantScope
{
    private Guid? _orgId;

    /// <summary>The current organization, or <see cref="Guid.Empty"/> when none was established.</summary>
    public Guid OrgId => _orgId ?? Guid.Empty;

    /// <summary>True once <see cref="Enter"/> was called.</summary>
    public bool IsSet => _orgId.HasValue;

    /// <summary>Binds this request to one organization. A second call with another id is a bug and throws.</summary>
    public void Enter(Guid orgId)
    {
        if (_orgId is { } current && current != orgId)
        {
            throw new InvalidOperationException("a request cannot switch organizations");
        }

        _orgId = orgId;
    }
}

/// <summary>
/// The platform context as the control plane uses it: every tenant-owned entity is filtered to
/// <see cref="TenantScope.OrgId"/> (the second layer of tenancy after the route check). Without a scope the filter
/// compares with <see cref="Guid.Empty"/> and nothing is visible — it fails closed. New rows still get their
/// <c>org_id</c> from the use case; the filter only narrows reads, updates and deletes.
/// </summary>
public sealed class TenantDbContext(DbContextOptions<TenantDbContext> options, TenantScope scope) : PlatformDbContext(options)
{
    /// <summary>Organization the filters compare with (read by EF per query, so it is a parameter, not a constant).</summary>
    public Guid CurrentOrgId => scope.OrgId;

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);
        builder.Entity<Organization>().HasQueryFilter(e => e.Id == CurrentOrgId);
        builder.Entity<Membership>().HasQueryFilter(e => e.OrgId == CurrentOrgId);
        builder.Entity<Invitation>().HasQueryFilter(e => e.OrgId == CurrentOrgId);
        builder.Entity<ApiKey>().HasQueryFilter(e => e.OrgId == CurrentOrgId);
        builder.Entity<SourceConnection>().HasQueryFilter(e => e.OrgId == CurrentOrgId);
        builder.Entity<Destination>().HasQueryFilter(e => e.OrgId == CurrentOrgId);
        builder.Entity<Sync>().HasQueryFilter(e => e.OrgId == CurrentOrgId);
        builder.Entity<SyncTable>().HasQueryFilter(e => e.OrgId == CurrentOrgId);
        builder.Entity<ProxyCredential>().HasQueryFilter(e => e.OrgId == CurrentOrgId);
        builder.Entity<AuditEvent>().HasQueryFilter(e => e.OrgId == CurrentOrgId);
    }
}
