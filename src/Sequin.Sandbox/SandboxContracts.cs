using System.Text.Json.Serialization;

namespace Sequin.Sandbox;

/// <summary>
/// Per-org limits and faults (admin API <c>PUT /_sandbox/orgs/{orgId}/faults</c>). On update, null
/// members leave the current value unchanged; reads return every member set. Rates are probabilities
/// per API request in [0, 1].
/// </summary>
public sealed class SandboxFaults
{
    /// <summary>Daily API request allocation; beyond it 403 <c>REQUEST_LIMIT_EXCEEDED</c> "TotalRequests Limit exceeded.".</summary>
    public int? DailyApiLimit { get; set; }

    /// <summary>Requests served at once for the org; beyond it 403 <c>REQUEST_LIMIT_EXCEEDED</c> (0 = unlimited).</summary>
    public int? MaxConcurrentRequests { get; set; }

    /// <summary>Latency added to every API request, in milliseconds.</summary>
    public int? LatencyMs { get; set; }

    /// <summary>Uniform random extra latency in [0, JitterMs] milliseconds.</summary>
    public int? JitterMs { get; set; }

    /// <summary>Probability of 500 <c>UNKNOWN_EXCEPTION</c>.</summary>
    public double? ErrorRate500 { get; set; }

    /// <summary>Probability of 503 <c>SERVER_UNAVAILABLE</c>.</summary>
    public double? ErrorRate503 { get; set; }

    /// <summary>Probability that the request hangs until the client gives up (bounded by options).</summary>
    public double? TimeoutRate { get; set; }

    /// <summary>Probability that the connection is aborted without a response.</summary>
    public double? DropConnectionRate { get; set; }

    /// <summary>Lifetime of access tokens issued from now on, in seconds.</summary>
    public int? AccessTokenLifetimeSeconds { get; set; }
}

/// <summary>
/// Live activity (admin API <c>PUT /_sandbox/orgs/{orgId}/activity</c>): a background mutator that
/// creates, updates and deletes records at <see cref="OperationsPerSecond"/>, choosing the operation by
/// weight. Null members leave the current value unchanged.
/// </summary>
public sealed class SandboxActivity
{
    /// <summary>Whether the mutator runs for this org.</summary>
    public bool? Enabled { get; set; }

    /// <summary>Operations per second (fractional rates allowed).</summary>
    public double? OperationsPerSecond { get; set; }

    /// <summary>Relative weight of creates.</summary>
    public int? CreateWeight { get; set; }

    /// <summary>Relative weight of updates.</summary>
    public int? UpdateWeight { get; set; }

    /// <summary>Relative weight of deletes.</summary>
    public int? DeleteWeight { get; set; }

    /// <summary>sObjects to mutate (default Contact and Account).</summary>
    public IList<string>? Objects { get; set; }
}

/// <summary>Live activity settings plus the operations done so far.</summary>
public sealed class SandboxActivityStatus
{
    /// <summary>Current settings, every member set.</summary>
    public required SandboxActivity Settings { get; init; }

    /// <summary>Records created by the mutator.</summary>
    public long Creates { get; init; }

    /// <summary>Records updated by the mutator.</summary>
    public long Updates { get; init; }

    /// <summary>Records deleted by the mutator.</summary>
    public long Deletes { get; init; }
}

/// <summary>
/// A change of a custom field's type (admin API <c>PUT /_sandbox/orgs/{orgId}/sobjects/{sobject}/fields/{field}</c>):
/// the new describe <see cref="Type"/> (<c>string textarea email phone url boolean int double currency percent date
/// datetime</c>) and, optionally, its length (text) or precision and scale (numbers).
/// </summary>
public sealed class SandboxFieldChange
{
    /// <summary>The new describe type, e.g. <c>double</c>.</summary>
    public string Type { get; set; } = string.Empty;

    /// <summary>Text length; default the current length of a text field, else 255.</summary>
    public int? Length { get; set; }

    /// <summary>Total digits of a number; default 18.</summary>
    public int? Precision { get; set; }

    /// <summary>Digits after the decimal point; default 0 (currency 2).</summary>
    public int? Scale { get; set; }
}

/// <summary>What a field type change did.</summary>
public sealed class SandboxFieldChangeResult
{
    /// <summary>The sObject (<c>Contact</c>).</summary>
    public required string Object { get; init; }

    /// <summary>The field (<c>Score__c</c>).</summary>
    public required string Field { get; init; }

    /// <summary>Describe type before the change.</summary>
    public required string PreviousType { get; init; }

    /// <summary>Describe type now.</summary>
    public required string Type { get; init; }

    /// <summary>Records whose value was converted (recycle bin included).</summary>
    public int Records { get; init; }

    /// <summary>Values that did not convert and were cleared (or set to false, or cut to the new length).</summary>
    public int Lost { get; init; }
}

/// <summary>
/// A declarative validation rule. Like a Salesforce validation rule, the record is rejected with
/// <c>FIELD_CUSTOM_VALIDATION_EXCEPTION</c> and <see cref="ErrorMessage"/> when <see cref="Condition"/>
/// is TRUE for the record as it would be saved (insert, or the record with the update applied).
/// </summary>
public sealed class SandboxValidationRule
{
    /// <summary>The sObject the rule applies to (<c>Contact</c>).</summary>
    public string Object { get; set; } = string.Empty;

    /// <summary>Rule name, for humans.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>Field the error is attached to (reported in <c>fields</c>); null for a top-of-page error.</summary>
    public string? Field { get; set; }

    /// <summary>The error message returned to the client.</summary>
    public string ErrorMessage { get; set; } = string.Empty;

    /// <summary>When true for the record, the save fails.</summary>
    public SandboxRuleCondition Condition { get; set; } = new();

    /// <summary>Inactive rules are kept but not evaluated.</summary>
    public bool Active { get; set; } = true;
}

/// <summary>
/// A condition over one record. Either a leaf (<see cref="Field"/> + <see cref="Operator"/> [+
/// <see cref="Value"/>]) or a combination (<see cref="All"/>, <see cref="Any"/>, <see cref="Not"/>).
/// Operators: <c>equals</c>, <c>notEquals</c> (case-insensitive text comparison of the value as
/// Salesforce formats it), <c>contains</c>, <c>startsWith</c>, <c>matches</c> (.NET regular expression,
/// whole value), <c>isBlank</c>, <c>isNotBlank</c>, <c>greaterThan</c>, <c>lessThan</c> (numbers, dates).
/// Example: <c>{"any":[{"field":"LastName","operator":"equals","value":"Test"},{"field":"Email","operator":"isBlank"}]}</c>.
/// </summary>
public sealed class SandboxRuleCondition
{
    /// <summary>Field compared by a leaf condition.</summary>
    public string? Field { get; set; }

    /// <summary>Leaf operator (see the type remarks).</summary>
    public string? Operator { get; set; }

    /// <summary>Operand of the leaf operator.</summary>
    public string? Value { get; set; }

    /// <summary>True when every sub-condition is true.</summary>
    public IList<SandboxRuleCondition>? All { get; set; }

    /// <summary>True when any sub-condition is true.</summary>
    public IList<SandboxRuleCondition>? Any { get; set; }

    /// <summary>True when the sub-condition is false.</summary>
    public SandboxRuleCondition? Not { get; set; }
}

/// <summary>An OAuth token response, as <c>POST /services/oauth2/token</c> returns it.</summary>
public sealed class SandboxTokenResponse
{
    /// <summary>Bearer token for the REST API (<c>00D...!...</c>).</summary>
    [JsonPropertyName("access_token")]
    public required string AccessToken { get; init; }

    /// <summary>Refresh token; absent on refresh-token grants, like Salesforce.</summary>
    [JsonPropertyName("refresh_token")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? RefreshToken { get; init; }

    /// <summary>Signature: Base64 HMAC-SHA256 of <c>id + issued_at</c>.</summary>
    [JsonPropertyName("signature")]
    public required string Signature { get; init; }

    /// <summary>Scopes granted.</summary>
    [JsonPropertyName("scope")]
    public string Scope { get; init; } = "api refresh_token";

    /// <summary>Absolute base URL of the emulator (including its mount prefix).</summary>
    [JsonPropertyName("instance_url")]
    public required string InstanceUrl { get; init; }

    /// <summary>Identity URL <c>{login}/id/{orgId}/{userId}</c>.</summary>
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    /// <summary>Always <c>Bearer</c>.</summary>
    [JsonPropertyName("token_type")]
    public string TokenType { get; init; } = "Bearer";

    /// <summary>Issue time in Unix milliseconds, as a string.</summary>
    [JsonPropertyName("issued_at")]
    public required string IssuedAt { get; init; }
}

/// <summary>An org as listed by the admin API.</summary>
public sealed class SandboxOrgInfo
{
    /// <summary>18-character org id (<c>00D...</c>).</summary>
    public required string OrgId { get; init; }

    /// <summary>Display name.</summary>
    public required string Name { get; init; }

    /// <summary>Id of the integration user that API sessions run as.</summary>
    public required string UserId { get; init; }

    /// <summary>Creation time (UTC).</summary>
    public required DateTimeOffset CreatedDate { get; init; }

    /// <summary>Live (not deleted) records per sObject.</summary>
    public required IReadOnlyDictionary<string, int> RecordCounts { get; init; }

    /// <summary>Soft-deleted records still in the recycle bin, per sObject.</summary>
    public required IReadOnlyDictionary<string, int> DeletedCounts { get; init; }

    /// <summary>API requests counted today.</summary>
    public required long ApiRequestsUsed { get; init; }

    /// <summary>Daily API request allocation.</summary>
    public required int DailyApiLimit { get; init; }
}
