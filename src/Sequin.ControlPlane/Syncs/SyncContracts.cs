using System.Text.RegularExpressions;
using FluentValidation;

namespace Sequin.ControlPlane.Syncs;

/// <summary>Body of <c>POST /api/v1/orgs/{orgId}/syncs</c>.</summary>
/// <param name="ConnectionId">The source connection to read from.</param>
/// <param name="Schema">Destination schema (a Postgres identifier, <c>^[a-z_][a-z0-9_]{0,62}$</c>); default the source kind, <c>salesforce</c>.</param>
/// <param name="Destination">Where the tables go; default the organization's hosted database.</param>
/// <param name="Tables">Objects to sync (1–100), each with its fields (null: every field, new ones included).</param>
/// <param name="PollIntervalMs">Incremental poll interval, 100–60000 ms; default 1000.</param>
/// <param name="Name">Optional label (1–200 characters).</param>
public sealed record CreateSyncRequest(Guid ConnectionId, string? Schema, DestinationRequest? Destination, IReadOnlyList<SyncTableRequest> Tables,
    int? PollIntervalMs, string? Name);

/// <summary>A destination: <c>{"kind":"hosted"}</c> or <c>{"kind":"external","connectionString":"Host=…;Database=…;Username=…;Password=…"}</c>.</summary>
public sealed record DestinationRequest(string Kind, string? ConnectionString);

/// <summary>One object of a sync. <see cref="Fields"/> are API names; null selects all.</summary>
public sealed record SyncTableRequest(string Object, IReadOnlyList<string>? Fields);

/// <summary>Body of <c>PATCH /api/v1/orgs/{orgId}/syncs/{syncId}</c>: the new selection (replaces the old) and/or poll interval.</summary>
public sealed record UpdateSyncRequest(IReadOnlyList<SyncTableRequest>? Tables, int? PollIntervalMs);

/// <summary>A sync and the state of each of its tables.</summary>
public sealed record SyncResponse(Guid Id, string? Name, string Schema, string State, Guid ConnectionId, DestinationSummary Destination,
    int PollIntervalMs, DateTimeOffset CreatedAt, string? LastError, IReadOnlyList<SyncTableResponse> Tables, ApiUsageResponse? ApiUsage);

/// <summary>
/// The connection's daily API budget as the source last reported it (Salesforce <c>Sforce-Limit-Info</c>):
/// requests used, the allocation, the share used (0–1) and when it was read. Shared by every sync of the connection.
/// </summary>
public sealed record ApiUsageResponse(long Used, long Max, double Share, DateTimeOffset At);

/// <summary>Where a sync writes.</summary>
public sealed record DestinationSummary(Guid Id, string Kind, string Host, int Port, string Database);

/// <summary>
/// One table: <c>state</c> is pending, backfilling, live, paused or error; <c>rowsDone</c>/<c>rowsEstimated</c> give
/// backfill progress; <c>lagSeconds</c> is the time since the table last caught up with the source.
/// </summary>
public sealed record SyncTableResponse(string Object, string Table, string State, long RowsDone, long? RowsEstimated, DateTimeOffset? LastSyncedAt,
    double? LagSeconds, string? LastError, IReadOnlyList<string>? Fields);

/// <summary>How to connect: through the proxy (reads and writes) and directly (read-only).</summary>
public sealed record ConnectionInstructions(ConnectionEndpoint Proxy, ConnectionEndpoint? Direct);

/// <summary>One way to connect. <see cref="Password"/> is null unless revealed (<c>?reveal=true</c>), then also in the URL.</summary>
public sealed record ConnectionEndpoint(string Host, int Port, string Database, string User, string? Password, string Url, string Psql, string Note);

/// <summary>Body of <c>POST …/syncs/{syncId}/credentials/rotate</c>: which password to replace, <c>proxy</c> or <c>direct</c>.</summary>
public sealed record RotateCredentialsRequest(string Which);

internal static partial class Identifiers
{
    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal) { "public", "information_schema", "_sequin", "_sync", "quartz" };

    /// <summary>A schema name we create: lower-case identifier, not reserved, not <c>pg_*</c>.</summary>
    public static bool IsValidSchema(string? name) =>
        name is not null && SchemaPattern().IsMatch(name) && !Reserved.Contains(name) && !name.StartsWith("pg_", StringComparison.Ordinal);

    /// <summary>An upstream API name: letters, digits, underscores.</summary>
    public static bool IsApiName(string? name) => name is { Length: > 0 and <= 100 } && ApiNamePattern().IsMatch(name);

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex SchemaPattern();

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_]*$")]
    private static partial Regex ApiNamePattern();
}

internal sealed class SyncTableRequestValidator : AbstractValidator<SyncTableRequest>
{
    public SyncTableRequestValidator()
    {
        RuleFor(t => t.Object).Must(Identifiers.IsApiName).WithMessage("'Object' must be an API name (letters, digits, underscores).");
        RuleFor(t => t.Fields).Must(f => f is null || (f.Count is > 0 and <= 800 && f.All(Identifiers.IsApiName)))
            .WithMessage("'Fields' must be null (all) or 1–800 API names.");
    }
}

internal sealed class CreateSyncRequestValidator : AbstractValidator<CreateSyncRequest>
{
    public CreateSyncRequestValidator()
    {
        RuleFor(r => r.ConnectionId).NotEmpty();
        RuleFor(r => r.Schema).Must(s => s is null || Identifiers.IsValidSchema(s))
            .WithMessage("'Schema' must be a lower-case identifier (^[a-z_][a-z0-9_]{0,62}$), not reserved (public, information_schema, pg_*, _sequin, _sync, quartz).");
        RuleFor(r => r.Destination!.Kind).Must(k => k is "hosted" or "external").When(r => r.Destination is not null)
            .WithMessage("'Destination Kind' must be 'hosted' or 'external'.").OverridePropertyName("destination.kind");
        RuleFor(r => r.Destination!.ConnectionString).NotEmpty().MaximumLength(2000).When(r => r.Destination?.Kind == "external")
            .OverridePropertyName("destination.connectionString");
        RuleFor(r => r.Tables).NotEmpty().Must(t => t is null || t.Count <= 100).WithMessage("'Tables' must list 1–100 objects.");
        RuleForEach(r => r.Tables).SetValidator(new SyncTableRequestValidator());
        RuleFor(r => r.Tables).Must(t => t is null || t.Select(x => x.Object.ToUpperInvariant()).Distinct().Count() == t.Count)
            .WithMessage("An object is listed twice.");
        RuleFor(r => r.PollIntervalMs).InclusiveBetween(100, 60_000);
        RuleFor(r => r.Name).MaximumLength(200).Must(n => n is null || (n.Trim().Length > 0 && !n.Any(char.IsControl)))
            .WithMessage("'Name' must be 1–200 printable characters.");
    }
}

internal sealed class UpdateSyncRequestValidator : AbstractValidator<UpdateSyncRequest>
{
    public UpdateSyncRequestValidator()
    {
        RuleFor(r => r.Tables).Must(t => t is null || t.Count is > 0 and <= 100).WithMessage("'Tables' must list 1–100 objects.");
        RuleForEach(r => r.Tables).SetValidator(new SyncTableRequestValidator());
        RuleFor(r => r.Tables).Must(t => t is null || t.Select(x => x.Object.ToUpperInvariant()).Distinct().Count() == t.Count)
            .WithMessage("An object is listed twice.");
        RuleFor(r => r.PollIntervalMs).InclusiveBetween(100, 60_000);
    }
}

internal sealed class RotateCredentialsRequestValidator : AbstractValidator<RotateCredentialsRequest>
{
    public RotateCredentialsRequestValidator() =>
        RuleFor(r => r.Which).Must(w => w is "proxy" or "direct").WithMessage("'Which' must be 'proxy' or 'direct'.");
}
