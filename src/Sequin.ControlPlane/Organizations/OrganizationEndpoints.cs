using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Sequin.ControlPlane.Infrastructure;
using Sequin.ControlPlane.Tenancy;
using Sequin.Platform.Data;

namespace Sequin.ControlPlane.Organizations;

/// <summary>An organization as the API shows it.</summary>
public sealed record OrganizationResponse(Guid Id, string Name, string Slug, DateTimeOffset CreatedAt, string YourRole);

/// <summary>A member of an organization.</summary>
public sealed record MemberResponse(Guid UserId, string Email, string? Name, string Role, DateTimeOffset Since);

/// <summary>One audit log row. <c>Data</c> is the JSON recorded with the action.</summary>
public sealed record AuditEventResponse(long Id, DateTimeOffset At, string Action, string? TargetType, string? TargetId,
    Guid? ActorUserId, string? ActorEmail, Guid? ActorApiKeyId, string? Data, string? RemoteIp);

/// <summary><c>/api/v1/orgs/{orgId}</c>, its members and its audit log.</summary>
internal static class OrganizationEndpoints
{
    public static RouteGroupBuilder MapOrganizationEndpoints(this RouteGroupBuilder org)
    {
        org.MapGet("/", GetAsync).WithTags("Organizations").WithSummary("The organization.");
        org.MapGet("/members", GetMembersAsync).WithTags("Organizations").WithSummary("Members and their roles.");
        org.MapGet("/audit-log", GetAuditLogAsync).WithTags("Organizations").RequireOrgRole(OrganizationRoles.Admin)
            .WithSummary("Who did what, newest first. Query: limit (1–500, default 100), before (id, for paging).");
        return org;
    }

    private static async Task<Results<Ok<OrganizationResponse>, ProblemHttpResult>> GetAsync(
        TenantDbContext db, HttpContext http, CancellationToken cancellationToken)
    {
        var org = await db.Organizations.AsNoTracking().SingleOrDefaultAsync(cancellationToken);
        return org is null
            ? Problems.NotFound("Organization")
            : TypedResults.Ok(new OrganizationResponse(org.Id, org.Name, org.Slug, org.CreatedAt, OrgAccessFilter.RoleOf(http)));
    }

    private static async Task<Ok<List<MemberResponse>>> GetMembersAsync(TenantDbContext db, CancellationToken cancellationToken) =>
        TypedResults.Ok((await (from m in db.Memberships.AsNoTracking()
                                 join u in db.Users on m.UserId equals u.Id
                                 orderby m.CreatedAt
                                 select new { u.Id, u.Email, u.DisplayName, m.Role, m.CreatedAt }).ToListAsync(cancellationToken))
            .Select(x => new MemberResponse(x.Id, x.Email!, x.DisplayName, x.Role, x.CreatedAt)).ToList());

    private static async Task<Results<Ok<List<AuditEventResponse>>, ValidationProblem>> GetAuditLogAsync(
        TenantDbContext db, int? limit, long? before, CancellationToken cancellationToken)
    {
        if (limit is < 1 or > 500)
        {
            return Problems.Field("limit", "limit must be between 1 and 500.");
        }

        var query = db.AuditEvents.AsNoTracking();
        if (before is { } b)
        {
            query = query.Where(a => a.Id < b);
        }

        var events = await query.OrderByDescending(a => a.Id).Take(limit ?? 100).ToListAsync(cancellationToken);
        var userIds = events.Where(a => a.ActorUserId is not null).Select(a => a.ActorUserId!.Value).Distinct().ToList();
        var emails = await db.Users.AsNoTracking().Where(u => userIds.Contains(u.Id)).ToDictionaryAsync(u => u.Id, u => u.Email, cancellationToken);
        return TypedResults.Ok(events.Select(a => new AuditEventResponse(a.Id, a.At, a.Action, a.TargetType, a.TargetId, a.ActorUserId,
            a.ActorUserId is { } id ? emails.GetValueOrDefault(id) : null, a.ActorApiKeyId, a.Data, a.RemoteIp)).ToList());
    }
}
