using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Sequin.ControlPlane.Auth;
using Sequin.ControlPlane.Infrastructure;
using Sequin.ControlPlane.Tenancy;
using Sequin.Platform.Data;

namespace Sequin.ControlPlane.Connections;

/// <summary><c>/api/v1/orgs/{orgId}/connections</c> and the OAuth callback <c>/api/v1/oauth/callback</c>.</summary>
internal static class ConnectionEndpoints
{
    public static RouteGroupBuilder MapConnectionEndpoints(this RouteGroupBuilder org)
    {
        var connections = org.MapGroup("/connections").WithTags("Connections");
        connections.MapPost("/oauth/start", StartAsync).Validate<StartOAuthRequest>().RequireOrgRole(OrganizationRoles.Admin)
            .WithSummary("Start connecting a source by OAuth: open the returned authorizeUrl in a browser (valid 10 minutes, single use).");
        connections.MapGet("/", async (TenantDbContext db, CancellationToken ct) => TypedResults.Ok(
                (await db.SourceConnections.AsNoTracking().OrderBy(c => c.CreatedAt).ToListAsync(ct)).Select(ToResponse).ToList()))
            .WithSummary("The organization's connections.");
        connections.MapGet("/{connectionId:guid}", async Task<Results<Ok<ConnectionResponse>, ProblemHttpResult>> (Guid connectionId, TenantDbContext db, CancellationToken ct) =>
                await db.SourceConnections.AsNoTracking().SingleOrDefaultAsync(c => c.Id == connectionId, ct) is { } c
                    ? TypedResults.Ok(ToResponse(c))
                    : Problems.NotFound("Connection"))
            .WithSummary("One connection.");
        connections.MapDelete("/{connectionId:guid}", DeleteAsync).RequireOrgRole(OrganizationRoles.Admin)
            .WithSummary("Revoke the grant upstream and delete the connection (409 while a sync uses it).");
        return org;
    }

    public static RouteGroupBuilder MapOAuthCallback(this RouteGroupBuilder api)
    {
        api.MapGet("/oauth/callback", CallbackAsync).WithTags("Connections")
            .WithSummary("Where the provider sends the browser back. Browsers are redirected to returnTo; other clients get JSON.");
        return api;
    }

    internal static ConnectionResponse ToResponse(SourceConnection c) =>
        new(c.Id, c.Kind, c.Name, c.Status, c.InstanceUrl, c.ExternalAccountId, c.CreatedAt, c.LastTestedAt, c.LastError);

    private static async Task<Results<Ok<StartOAuthResponse>, ValidationProblem>> StartAsync(
        StartOAuthRequest request, StartOAuthConnectionCommand command, CancellationToken cancellationToken)
    {
        var result = await command.ExecuteAsync(request, cancellationToken);
        return result.Response is { } response ? TypedResults.Ok(response) : Problems.Field(result.Field!, result.Error!);
    }

    private static async Task<IResult> CallbackAsync(
        HttpContext http, string? code, string? state, string? error, string? error_description,
        CompleteOAuthConnectionCommand command, CancellationToken cancellationToken)
    {
        var result = await command.ExecuteAsync(code, state, error, error_description, CurrentActor.From(http.User), cancellationToken);
        var browser = http.Request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);
        if (browser && result.ReturnTo is { } returnTo)
        {
            var separator = returnTo.Contains('?', StringComparison.Ordinal) ? '&' : '?';
            return Results.Redirect(result.Connection is { } created
                ? $"{returnTo}{separator}connection={created.Id}"
                : $"{returnTo}{separator}error={Uri.EscapeDataString(result.Error!)}");
        }

        return result.Connection is { } connection
            ? TypedResults.Created($"/api/v1/orgs/{connection.OrgId}/connections/{connection.Id}", ToResponse(connection))
            : TypedResults.Problem(title: "Connection failed", detail: result.Error, statusCode: result.Status);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(
        Guid connectionId, DeleteConnectionCommand command, CancellationToken cancellationToken) =>
        await command.ExecuteAsync(connectionId, cancellationToken) switch
        {
            DeleteConnectionResult.Deleted => TypedResults.NoContent(),
            DeleteConnectionResult.InUse => Problems.Conflict("A sync uses this connection; delete the sync first."),
            _ => Problems.NotFound("Connection"),
        };
}
