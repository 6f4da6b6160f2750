using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Sequin.ControlPlane.Auth;
using Sequin.ControlPlane.Infrastructure;
using Sequin.Platform.Data;

namespace Sequin.ControlPlane.Tenancy;

/// <summary>
/// Guards every route under <c>/api/v1/orgs/{orgId}</c>. Fails closed: a missing or malformed <c>orgId</c>, an
/// unauthenticated caller, a user who is not a member, or an API key of another organization all get the same
/// 404 (the organization's existence is not revealed). On success it binds the request's <see cref="TenantScope"/>
/// (the EF filters of <see cref="TenantDbContext"/> then apply) and records the caller's <see cref="OrgRole"/>.
/// Endpoints that need more than membership declare it with <see cref="OrgAccessExtensions.RequireOrgRole"/>.
/// </summary>
internal sealed class OrgAccessFilter(PlatformDbContext db, TenantScope scope) : IEndpointFilter
{
    private static readonly object RoleKey = new();

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (http.Request.RouteValues["orgId"] is not string raw || !Guid.TryParse(raw, out var orgId))
        {
            return Problems.NotFound("Organization");
        }

        var actor = CurrentActor.From(http.User);
        string? role = null;
        if (actor.ApiKeyOrgId is { } keyOrg)
        {
            role = keyOrg == orgId ? OrganizationRoles.Admin : null;
        }
        else if (actor.UserId is { } userId)
        {
            role = await db.Memberships.AsNoTracking()
                .Where(m => m.OrgId == orgId && m.UserId == userId)
                .Select(m => m.Role)
                .SingleOrDefaultAsync(http.RequestAborted);
        }

        if (role is null)
        {
            return Problems.NotFound("Organization");
        }

        var required = http.GetEndpoint()?.Metadata.GetMetadata<RequireOrgRoleMetadata>()?.Role;
        if (required is not null && OrgRole.Rank(role) < OrgRole.Rank(required))
        {
            return Problems.Forbidden($"This action needs the '{required}' role in the organization; you have '{role}'.");
        }

        scope.Enter(orgId);
        http.Items[RoleKey] = role;
        return await next(context);
    }

    /// <summary>The caller's role in the route's organization (after the filter ran).</summary>
    public static string RoleOf(HttpContext http) => http.Items[RoleKey] as string ?? throw new InvalidOperationException("OrgAccessFilter did not run");
}

/// <summary>The order of <see cref="OrganizationRoles"/>: owner &gt; admin &gt; member.</summary>
internal static class OrgRole
{
    public static int Rank(string role) => role switch
    {
        OrganizationRoles.Owner => 3,
        OrganizationRoles.Admin => 2,
        OrganizationRoles.Member => 1,
        _ => 0,
    };
}

internal sealed record RequireOrgRoleMetadata(string Role);

internal static class OrgAccessExtensions
{
    /// <summary>Only callers with at least <paramref name="role"/> in the organization may call this endpoint (403 otherwise).</summary>
    public static TBuilder RequireOrgRole<TBuilder>(this TBuilder builder, string role)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(new RequireOrgRoleMetadata(role));
}
