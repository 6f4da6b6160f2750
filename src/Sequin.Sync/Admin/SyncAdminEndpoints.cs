using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Sequin.Platform.Database;

namespace Sequin.Sync;

/// <summary>
/// The small admin API for syncs, until the control plane exists. Every call needs the header
/// <c>X-Sequin-Admin-Key</c> equal to <see cref="SyncOptions.AdminKey"/>; with no key configured the API answers 404.
/// </summary>
public static class SyncAdminEndpoints
{
    /// <summary>Header carrying the admin key.</summary>
    public const string KeyHeader = "X-Sequin-Admin-Key";

    /// <summary>
    /// Maps <c>POST /admin/syncs</c> (body: <see cref="SyncDefinition"/>), <c>GET /admin/syncs/{id}</c>,
    /// <c>POST /admin/syncs/{id}/pause</c>, <c>POST /admin/syncs/{id}/resume</c>,
    /// <c>POST /admin/syncs/{id}/tables/{name}/resync</c> and <c>DELETE /admin/syncs/{id}</c>.
    /// </summary>
    public static IEndpointRouteBuilder MapSequinSyncAdmin(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/admin/syncs").AddEndpointFilter(async (context, next) =>
        {
            var key = context.HttpContext.RequestServices.GetRequiredService<IOptions<SyncOptions>>().Value.AdminKey;
            if (string.IsNullOrEmpty(key))
            {
                return TypedResults.NotFound();
            }

            var given = context.HttpContext.Request.Headers[KeyHeader].ToString();
            if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(key)))
            {
                return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: $"missing or wrong {KeyHeader}");
            }

            return await next(context);
        });

        group.MapPost("/", async Task<Results<Created<SyncCreated>, ValidationProblem>> (SyncDefinition definition, SyncAdmin admin, CancellationToken ct) =>
        {
            try
            {
                var id = await admin.CreateAsync(definition, ct);
                return TypedResults.Created($"/admin/syncs/{id}", new SyncCreated(id));
            }
            catch (ArgumentException e)
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["definition"] = [e.Message] });
            }
        });
        group.MapGet("/{id:guid}", async Task<Results<Ok<SyncStatus>, NotFound>> (Guid id, PlatformDatabase platform, CancellationToken ct) =>
            await ReadStatusAsync(platform.DataSource, id, ct) is { } status ? TypedResults.Ok(status) : TypedResults.NotFound());
        group.MapPost("/{id:guid}/pause", async Task<Results<NoContent, NotFound>> (Guid id, SyncAdmin admin, CancellationToken ct) =>
            await admin.PauseAsync(id, ct) ? TypedResults.NoContent() : TypedResults.NotFound());
        group.MapPost("/{id:guid}/resume", async Task<Results<NoContent, NotFound>> (Guid id, SyncAdmin admin, CancellationToken ct) =>
            await admin.ResumeAsync(id, ct) ? TypedResults.NoContent() : TypedResults.NotFound());
        group.MapPost("/{id:guid}/tables/{name}/resync", async Task<Results<NoContent, NotFound>> (Guid id, string name, SyncAdmin admin, CancellationToken ct) =>
            await admin.ResyncTableAsync(id, name, ct) ? TypedResults.NoContent() : TypedResults.NotFound());
        group.MapDelete("/{id:guid}", async Task<Results<Accepted, NotFound>> (Guid id, SyncAdmin admin, CancellationToken ct) =>
            await admin.DeleteAsync(id, ct) ? TypedResults.Accepted($"/admin/syncs/{id}") : TypedResults.NotFound());
        return app;
    }

    private static async Task<SyncStatus?> ReadStatusAsync(NpgsqlDataSource platform, Guid id, CancellationToken ct)
    {
        await using var cmd = platform.CreateCommand("""
            select s.name, s.schema_name, s.state, s.last_error,
                   coalesce((select jsonb_agg(jsonb_build_object('object', t.object_name, 'table', t.table_name, 'state', t.state,
                       'rows', t.rows_done, 'last_synced_at', t.last_synced_at, 'last_error', t.last_error) order by t.object_name)
                       from sync_tables t where t.sync_id = s.id), '[]'::jsonb)::text
            from syncs s where s.id = $1
            """);
        cmd.Parameters.AddWithValue(id);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            return null;
        }

        return new SyncStatus(id, reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetString(1), reader.GetString(2),
            reader.IsDBNull(3) ? null : reader.GetString(3), System.Text.Json.JsonDocument.Parse(reader.GetString(4)).RootElement);
    }

    /// <summary>Response of <c>POST /admin/syncs</c>.</summary>
    public sealed record SyncCreated(Guid Id);

    /// <summary>Response of <c>GET /admin/syncs/{id}</c>: the sync and its tables (mirrored from each destination's <c>_sync</c>).</summary>
    public sealed record SyncStatus(Guid Id, string? Name, string Schema, string State, string? LastError, System.Text.Json.JsonElement Tables);
}
