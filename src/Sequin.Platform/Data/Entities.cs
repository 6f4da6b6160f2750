using Microsoft.AspNetCore.Identity;

namespace Sequin.Platform.Data;

// Entity shapes of the platform database (Migrations/0001_platform.sql). Columns are the snake_case of the
// property names (PlatformDbContext applies the convention). Timestamps are UTC.

/// <summary>A tenant. Every other tenant-owned row carries its <see cref="Id"/> as <c>org_id</c>.</summary>
public sealed class Organization
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    /// <summary>URL-safe unique name: <c>^[a-z0-9][a-z0-9-]{0,62}$</c>.</summary>
    public required string Slug { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>A person who signs in to the dashboard (ASP.NET Core Identity user, table <c>users</c>).</summary>
public sealed class User : IdentityUser<Guid>
{
    public string? DisplayName { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>Organization roles, stored as text: <c>owner</c>, <c>admin</c>, <c>member</c>.</summary>
public static class OrganizationRoles
{
    public const string Owner = "owner";
    public const string Admin = "admin";
    public const string Member = "member";
}

/// <summary>A user's role in one organization.</summary>
public sealed class Membership
{
    public Guid OrgId { get; set; }
    public Guid UserId { get; set; }
    public required string Role { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>An invitation to join an organization; the token is stored as a SHA-256 hash.</summary>
public sealed class Invitation
{
    public Guid Id { get; set; }
    public Guid OrgId { get; set; }
    public required string Email { get; set; }
    public required string Role { get; set; }
    public required byte[] TokenHash { get; set; }
    public Guid? InvitedBy { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    public DateTimeOffset? AcceptedAt { get; set; }
}

/// <summary>An organization API key. The secret is shown once; only its hash and public prefix are stored.</summary>
public sealed class ApiKey
{
    public Guid Id { get; set; }
    public Guid OrgId { get; set; }
    public required string Name { get; set; }
    public required string Prefix { get; set; }
    public required byte[] SecretHash { get; set; }
    public Guid? CreatedBy { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? LastUsedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
}

/// <summary>A connected source account (Salesforce org, HubSpot portal, Airtable base, Stripe account).</summary>
public sealed class SourceConnection
{
    public Guid Id { get; set; }
    public Guid OrgId { get; set; }
    /// <summary><c>salesforce</c>, <c>hubspot</c>, <c>airtable</c> or <c>stripe</c>.</summary>
    public required string Kind { get; set; }
    public required string Name { get; set; }
    /// <summary><c>active</c>, <c>error</c> or <c>revoked</c>.</summary>
    public string Status { get; set; } = "active";
    public string? InstanceUrl { get; set; }
    public string? ExternalAccountId { get; set; }
    /// <summary>OAuth tokens or API key, encrypted with ASP.NET Data Protection. Never logged.</summary>
    public string? CredentialsProtected { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? LastTestedAt { get; set; }
    public string? LastError { get; set; }
    /// <summary>Request budget override (requests/second); null takes the host default (0004_sync_engine.sql).</summary>
    public double? RequestsPerSecond { get; set; }
    /// <summary>Share of the daily API allocation, in (0, 1]; null takes the host default.</summary>
    public double? DailyShare { get; set; }
    /// <summary>Daily API requests used, as the source last reported (0007_status.sql).</summary>
    public long? ApiUsed { get; set; }
    /// <summary>Daily API allocation, as the source last reported.</summary>
    public long? ApiMax { get; set; }
    public DateTimeOffset? ApiUsageAt { get; set; }
}

/// <summary>A Postgres database that receives synced tables: the org's hosted database or the customer's own.</summary>
public sealed class Destination
{
    public Guid Id { get; set; }
    public Guid OrgId { get; set; }
    /// <summary><c>hosted</c> or <c>external</c>.</summary>
    public required string Kind { get; set; }
    public required string Host { get; set; }
    public int Port { get; set; }
    public required string DatabaseName { get; set; }
    public required string Username { get; set; }
    public string? PasswordProtected { get; set; }
    public string SslMode { get; set; } = "prefer";
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>A sync: one connection's selected objects into one schema of one destination.</summary>
public sealed class Sync
{
    public Guid Id { get; set; }
    public Guid OrgId { get; set; }
    public Guid ConnectionId { get; set; }
    public Guid DestinationId { get; set; }
    public required string SchemaName { get; set; }
    /// <summary><c>backfilling</c>, <c>live</c>, <c>paused</c>, <c>error</c> or <c>deleting</c>.</summary>
    public string State { get; set; } = "backfilling";
    /// <summary>Incremental poll interval in milliseconds (default 1000).</summary>
    public int PollIntervalMs { get; set; } = 1000;
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public string? LastError { get; set; }
    /// <summary>Stable name (unique per organization) of a sync created from configuration or the admin API.</summary>
    public string? Name { get; set; }
    /// <summary>Login role with read-only access to the sync's schema (direct connections).</summary>
    public string? ReadRole { get; set; }
    /// <summary>Its password, encrypted (purpose <c>destination-password</c>).</summary>
    public string? ReadPasswordProtected { get; set; }
}

/// <summary>One selected upstream object of a sync and the table it lands in.</summary>
public sealed class SyncTable
{
    public Guid Id { get; set; }
    public Guid SyncId { get; set; }
    public Guid OrgId { get; set; }
    public required string ObjectName { get; set; }
    public required string TableName { get; set; }
    public string State { get; set; } = "pending";
    public long RowsDone { get; set; }
    public long? RowsEstimated { get; set; }
    public DateTimeOffset? LastSyncedAt { get; set; }
    public string? LastError { get; set; }
    /// <summary>Selected fields (API names); null selects every field, new upstream fields included.</summary>
    public string[]? SelectedFields { get; set; }
    /// <summary>Set by "resync table"; the running job re-backfills and clears it.</summary>
    public DateTimeOffset? ResyncRequestedAt { get; set; }
}

/// <summary>One selected field of a synced object and its Postgres column.</summary>
public sealed class SyncColumn
{
    public Guid SyncTableId { get; set; }
    public required string FieldName { get; set; }
    public required string ColumnName { get; set; }
    public required string SourceType { get; set; }
    public required string PgType { get; set; }
}

/// <summary>Proxy login: a SCRAM-SHA-256 verifier (RFC 5802/7677) and where the session is routed.</summary>
public sealed class ProxyCredential
{
    public Guid Id { get; set; }
    public Guid OrgId { get; set; }
    public Guid? SyncId { get; set; }
    public required string Username { get; set; }
    public required byte[] ScramSalt { get; set; }
    public int ScramIterations { get; set; }
    public required byte[] StoredKey { get; set; }
    public required byte[] ServerKey { get; set; }
    public required string DatabaseName { get; set; }
    public required string BackendRole { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? RotatedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
    /// <summary>Backend server; null uses the proxy's configured default (0003_proxy.sql).</summary>
    public string? BackendHost { get; set; }
    public int? BackendPort { get; set; }
    /// <summary>Password of <see cref="BackendRole"/>, encrypted (purpose <c>backend-password</c>).</summary>
    public string? BackendPasswordProtected { get; set; }
    /// <summary>The proxy password itself, encrypted (purpose <c>proxy-password</c>), for "reveal" (ADR 0010).</summary>
    public string? PasswordProtected { get; set; }
}

/// <summary>Who did what, when, in an organization.</summary>
public sealed class AuditEvent
{
    public long Id { get; set; }
    public Guid OrgId { get; set; }
    public Guid? ActorUserId { get; set; }
    public Guid? ActorApiKeyId { get; set; }
    public required string Action { get; set; }
    public string? TargetType { get; set; }
    public string? TargetId { get; set; }
    /// <summary>JSON document (column type jsonb).</summary>
    public string? Data { get; set; }
    public string? RemoteIp { get; set; }
    public DateTimeOffset At { get; set; }
}

/// <summary>One ASP.NET Data Protection key (XML element) of the key ring.</summary>
public sealed class DataProtectionKey
{
    public int Id { get; set; }
    public required string FriendlyName { get; set; }
    public required string Xml { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>A pending OAuth connection (<c>oauth_states</c>): single-use, expiring, bound to who started it.</summary>
public sealed class OAuthState
{
    /// <summary>SHA-256 of the <c>state</c> parameter sent to the provider.</summary>
    public required byte[] StateHash { get; set; }
    public Guid OrgId { get; set; }
    public Guid? UserId { get; set; }
    public Guid? ApiKeyId { get; set; }
    public required string Kind { get; set; }
    public required string ConnectionName { get; set; }
    public required string Environment { get; set; }
    public required string LoginUrl { get; set; }
    public required string RedirectUri { get; set; }
    /// <summary>PKCE code_verifier (RFC 7636), encrypted.</summary>
    public required string CodeVerifierProtected { get; set; }
    public string? ReturnTo { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    public DateTimeOffset? UsedAt { get; set; }
}
