using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Sequin.ControlPlane.Infrastructure;
using Sequin.ControlPlane.Tenancy;
using Sequin.Platform.Data;

namespace Sequin.ControlPlane.Syncs;

/// <summary><c>/api/v1/orgs/{orgId}/syncs</c>: create, read, change selection, pause, resume, resync, delete, connection instructions.</summary>
internal static class SyncEndpoints
{
    public static RouteGroupBuilder MapSyncEndpoints(this RouteGroupBuilder org)
    {
        var syncs = org.MapGroup("/syncs").WithTags("Syncs");
        syncs.MapGet("/", async (GetSyncsQuery query, CancellationToken ct) => TypedResults.Ok(await query.ListAsync(ct)))
            .WithSummary("The organization's syncs with per-table state.");
        syncs.MapPost("/", CreateAsync).Validate<CreateSyncRequest>().RequireOrgRole(OrganizationRoles.Admin)
            .WithSummary("Create a sync: backfill starts within seconds, then changes follow live.");
        syncs.MapGet("/{syncId:guid}", async Task<Results<Ok<SyncResponse>, ProblemHttpResult>> (Guid syncId, GetSyncsQuery query, CancellationToken ct) =>
                await query.GetAsync(syncId, ct) is { } sync ? TypedResults.Ok(sync) : Problems.NotFound("Sync"))
            .WithSummary("A sync: state, and per table: state, rows done / estimated, last synced, lag, last error.");
        syncs.MapPatch("/{syncId:guid}", UpdateAsync).Validate<UpdateSyncRequest>().RequireOrgRole(OrganizationRoles.Admin)
            .WithSummary("Replace the table/column selection and/or the poll interval.");
        syncs.MapPost("/{syncId:guid}/pause", async (Guid syncId, ControlSyncCommand command, CancellationToken ct) =>
                Outcome(await command.PauseAsync(syncId, ct), "Sync")).RequireOrgRole(OrganizationRoles.Admin)
            .WithSummary("Pause (the worker stops within one poll interval).");
        syncs.MapPost("/{syncId:guid}/resume", async (Guid syncId, ControlSyncCommand command, CancellationToken ct) =>
                Outcome(await command.ResumeAsync(syncId, ct), "Sync")).RequireOrgRole(OrganizationRoles.Admin)
            .WithSummary("Resume a paused or failed sync.");
        syncs.MapPost("/{syncId:guid}/tables/{table}/resync", async (Guid syncId, string table, ControlSyncCommand command, CancellationToken ct) =>
                Outcome(await command.ResyncAsync(syncId, table, ct), "Table")).RequireOrgRole(OrganizationRoles.Admin)
            .WithSummary("Backfill one table again (object or table name) while the sync keeps running.");
        syncs.MapDelete("/{syncId:guid}", async Task<Results<Accepted, ProblemHttpResult>> (Guid syncId, DeleteSyncCommand command, CancellationToken ct) =>
                await command.ExecuteAsync(syncId, ct) ? TypedResults.Accepted((string?)null) : Problems.NotFound("Sync"))
            .RequireOrgRole(OrganizationRoles.Admin)
            .WithSummary("Delete: credentials and roles go now; the schema is dropped from the destination within seconds.");
        syncs.MapGet("/{syncId:guid}/connection-instructions", async Task<Results<Ok<ConnectionInstructions>, ProblemHttpResult>> (
                    Guid syncId, bool? reveal, ConnectionInstructionsQuery query, CancellationToken ct) =>
                await query.GetAsync(syncId, reveal == true, ct) is { } instructions ? TypedResults.Ok(instructions) : Problems.NotFound("Sync"))
            .WithSummary("Host, port, database, user and a postgres:// URL for the proxy and for direct read access. ?reveal=true includes passwords (audited).");
        syncs.MapPost("/{syncId:guid}/credentials/rotate", RotateAsync).Validate<RotateCredentialsRequest>().RequireOrgRole(OrganizationRoles.Admin)
            .WithSummary("Replace the proxy or direct password; returns the new instructions with passwords.");
        return org;
    }

    private static async Task<Results<Created<SyncResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        CreateSyncRequest request, CreateSyncCommand command, GetSyncsQuery query, CancellationToken cancellationToken)
    {
        var result = await command.ExecuteAsync(request, cancellationToken);
        if (result.IsConflict)
        {
            return Problems.Conflict(result.Error!);
        }

        if (result.SyncId is not { } id)
        {
            return Problems.Field(result.Field!, result.Error!);
        }

        var sync = await query.GetAsync(id, cancellationToken);
        return TypedResults.Created($"syncs/{id}", sync!);
    }

    private static async Task<Results<Ok<SyncResponse>, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        Guid syncId, UpdateSyncRequest request, UpdateSyncCommand command, GetSyncsQuery query, CancellationToken cancellationToken)
    {
        var (found, field, error) = await command.ExecuteAsync(syncId, request, cancellationToken);
        if (!found)
        {
            return Problems.NotFound("Sync");
        }

        return error is not null ? Problems.Field(field!, error) : TypedResults.Ok((await query.GetAsync(syncId, cancellationToken))!);
    }

    private static async Task<Results<Ok<ConnectionInstructions>, ValidationProblem, ProblemHttpResult>> RotateAsync(
        Guid syncId, RotateCredentialsRequest request, RotateCredentialsCommand command, ConnectionInstructionsQuery query, CancellationToken cancellationToken)
    {
        return await command.ExecuteAsync(syncId, request.Which, cancellationToken) switch
        {
            null => Problems.NotFound("Sync"),
            false => Problems.Field("which", "This sync's destination has no read-only role to rotate (an external database)."),
            true => TypedResults.Ok((await query.GetAsync(syncId, reveal: true, cancellationToken))!),
        };
    }

    /// <summary>No such sync (null) and an engine refusal such as an unknown table (false) are both 404.</summary>
    private static Results<NoContent, ProblemHttpResult> Outcome(bool? done, string what) =>
        done == true ? TypedResults.NoContent() : Problems.NotFound(what);
}
