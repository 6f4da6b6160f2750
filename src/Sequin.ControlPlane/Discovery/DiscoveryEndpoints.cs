using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Sequin.ControlPlane.Audit;
using Sequin.ControlPlane.Connections;
using Sequin.ControlPlane.Infrastructure;
using Sequin.ControlPlane.Tenancy;
using Sequin.Platform.Data;
using Sequin.Sources;
using Sequin.Sync;

namespace Sequin.ControlPlane.Discovery;

/// <summary>An object of the source and the table it would become.</summary>
public sealed record SourceObjectResponse(string Name, string Label, string Table, bool Syncable, bool Writable);

/// <summary>A field of an object and the column it would become (<see cref="PgType"/> per docs/sync.md "Type mapping").</summary>
public sealed record SourceFieldResponse(string Name, string Type, string PgType, string Column, bool IsReference, bool Createable, bool Updateable);

/// <summary>An object with its fields.</summary>
public sealed record SourceObjectDetailResponse(string Name, string Table, string IdField, string? VersionField, IReadOnlyList<SourceFieldResponse> Fields);

/// <summary>Result of testing a connection: the API answered (and how fast), or why not.</summary>
public sealed record ConnectionTestResponse(bool Ok, string Status, int? Objects, long LatencyMs, string? Error);

/// <summary>Schema discovery and connection tests: <c>/api/v1/orgs/{orgId}/connections/{id}/objects</c>, <c>/test</c>.</summary>
internal static class DiscoveryEndpoints
{
    public static RouteGroupBuilder MapDiscoveryEndpoints(this RouteGroupBuilder org)
    {
        var connection = org.MapGroup("/connections/{connectionId:guid}").WithTags("Connections");
        connection.MapGet("/objects", ListObjectsAsync)
            .WithSummary("The source's objects (Salesforce describeGlobal) and the Postgres table each would become.");
        connection.MapGet("/objects/{objectName}", DescribeAsync)
            .WithSummary("An object's fields with their source types, Postgres types and column names (Salesforce describe).");
        connection.MapPost("/test", TestAsync).RequireOrgRole(OrganizationRoles.Admin)
            .WithSummary("Call the source's API with the stored credentials (refreshing them if needed) and record the outcome.");
        return org;
    }

    private static async Task<Results<Ok<List<SourceObjectResponse>>, ProblemHttpResult>> ListObjectsAsync(
        Guid connectionId, ConnectorProvider connectors, CancellationToken cancellationToken)
    {
        if (await connectors.OpenAsync(connectionId, cancellationToken) is not var (_, connector))
        {
            return Problems.NotFound("Connection");
        }

        await using (connector)
        {
            try
            {
                var objects = await connector.ListObjectsAsync(cancellationToken);
                return TypedResults.Ok(objects
                    .OrderByDescending(o => o.Syncable).ThenBy(o => o.Name, StringComparer.Ordinal)
                    .Select(o => new SourceObjectResponse(o.Name, o.Label, Naming.SnakeCase(o.Name), o.Syncable, o.Writable))
                    .ToList());
            }
            catch (SourceException e)
            {
                return UpstreamProblem(e);
            }
        }
    }

    private static async Task<Results<Ok<SourceObjectDetailResponse>, ProblemHttpResult>> DescribeAsync(
        Guid connectionId, string objectName, ConnectorProvider connectors, CancellationToken cancellationToken)
    {
        if (objectName.Length > 100 || !objectName.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
        {
            return Problems.BadRequest("Object names are letters, digits and underscores (at most 100).");
        }

        if (await connectors.OpenAsync(connectionId, cancellationToken) is not var (_, connector))
        {
            return Problems.NotFound("Connection");
        }

        await using (connector)
        {
            try
            {
                var described = await connector.DescribeObjectAsync(objectName, cancellationToken);
                return TypedResults.Ok(new SourceObjectDetailResponse(described.Name, Naming.SnakeCase(described.Name), described.IdField, described.VersionField,
                    described.Fields.Select(f => new SourceFieldResponse(f.Name, f.SourceType, PgTypes.SqlType(f.Kind), Naming.SnakeCase(f.Name),
                        f.IsReference, f.Createable, f.Updateable)).ToList()));
            }
            catch (SourceException e) when (e.Message.Contains("NOT_FOUND", StringComparison.Ordinal) || e.Message.Contains("INVALID_TYPE", StringComparison.Ordinal))
            {
                return Problems.NotFound($"Object '{objectName}'");
            }
            catch (SourceException e)
            {
                return UpstreamProblem(e);
            }
        }
    }

    private static async Task<Results<Ok<ConnectionTestResponse>, ProblemHttpResult>> TestAsync(
        Guid connectionId, ConnectorProvider connectors, TenantDbContext db, AuditLog audit, TimeProvider time, CancellationToken cancellationToken)
    {
        if (await connectors.OpenAsync(connectionId, cancellationToken) is not var (_, connector))
        {
            return Problems.NotFound("Connection");
        }

        var stopwatch = Stopwatch.StartNew();
        ConnectionTestResponse result;
        await using (connector)
        {
            try
            {
                var objects = await connector.ListObjectsAsync(cancellationToken);
                result = new ConnectionTestResponse(true, "active", objects.Count, stopwatch.ElapsedMilliseconds, null);
            }
            catch (SourceAuthException e)
            {
                result = new ConnectionTestResponse(false, "revoked", null, stopwatch.ElapsedMilliseconds, e.Message);
            }
            catch (SourceException e)
            {
                result = new ConnectionTestResponse(false, "error", null, stopwatch.ElapsedMilliseconds, e.Message);
            }
        }

        var stored = await db.SourceConnections.SingleAsync(c => c.Id == connectionId, cancellationToken);
        stored.Status = result.Status;
        stored.LastError = result.Error;
        stored.LastTestedAt = time.GetUtcNow();
        audit.Record("connection.tested", "connection", connectionId.ToString(), new { result.Ok, result.Status });
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Ok(result);
    }

    private static ProblemHttpResult UpstreamProblem(SourceException e) => e switch
    {
        SourceAuthException => TypedResults.Problem(title: "Source credentials rejected", detail: $"{e.Message} Reconnect the source.",
            statusCode: StatusCodes.Status409Conflict),
        SourceThrottledException => TypedResults.Problem(title: "Source rate limit", detail: e.Message, statusCode: StatusCodes.Status503ServiceUnavailable),
        _ => TypedResults.Problem(title: "Source error", detail: e.Message, statusCode: StatusCodes.Status502BadGateway),
    };
}
