using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Options;
using Sequin.Sandbox.Salesforce.Auth;
using Sequin.Sandbox.Salesforce.Ids;
using Sequin.Sandbox.Salesforce.Schema;
using Sequin.Sandbox.Salesforce.Store;
using Sequin.Sandbox.Salesforce.Writes;

namespace Sequin.Sandbox;

/// <summary>
/// The in-process control surface of the Salesforce emulator (a singleton). Tests in other projects
/// call it directly; the admin API under <c>/_sandbox/</c> is a thin HTTP layer over it. Methods taking
/// an org id throw <see cref="KeyNotFoundException"/> for an unknown org and
/// <see cref="ArgumentException"/> for invalid input.
/// </summary>
public sealed class SalesforceSandbox
{
    private readonly ConcurrentDictionary<string, Org> _orgs = new(StringComparer.Ordinal);
    private readonly SalesforceSandboxOptions _options;
    private readonly TimeProvider _time;
    private readonly string _signingKey;
    private int _orgCounter;

    /// <summary>Created by DI (<see cref="SalesforceSandboxExtensions.AddSalesforceSandbox"/>).</summary>
    public SalesforceSandbox(IOptions<SalesforceSandboxOptions> options, TimeProvider time)
    {
        _options = options.Value;
        _time = time;
        Catalog = new SchemaCatalog(_options.CustomObjects);
        Tokens = new TokenStore(time);
        _signingKey = string.IsNullOrEmpty(_options.ClientSecret) ? Convert.ToBase64String(Guid.NewGuid().ToByteArray()) : _options.ClientSecret;
        foreach (var spec in _options.Orgs)
        {
            CreateOrg(spec);
        }
    }

    internal SchemaCatalog Catalog { get; }

    internal TokenStore Tokens { get; }

    internal SalesforceSandboxOptions Options => _options;

    internal TimeProvider Time => _time;

    internal IEnumerable<Org> Orgs => _orgs.Values.OrderBy(o => o.CreatedDate).ThenBy(o => o.Id, StringComparer.Ordinal);

    internal Org? FindOrg(string orgIdOrName)
    {
        if (SalesforceId.TryNormalize(orgIdOrName, out var id) && _orgs.TryGetValue(id, out var org))
        {
            return org;
        }
        return _orgs.Values.FirstOrDefault(o => o.Name.Equals(orgIdOrName, StringComparison.OrdinalIgnoreCase));
    }

    internal Org RequireOrg(string orgId) => FindOrg(orgId) ?? throw new KeyNotFoundException($"No sandbox org '{orgId}'.");

    /// <summary>
    /// Creates an org with its users and seed data. Seeding is synchronous and deterministic for a given
    /// <see cref="SandboxSeedSpec.RandomSeed"/>; a million records take a few seconds.
    /// </summary>
    public SandboxOrgInfo CreateOrg(SandboxOrgSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (string.IsNullOrWhiteSpace(spec.Name))
        {
            throw new ArgumentException("An org needs a name.", nameof(spec));
        }
        var seed = spec.Seed;
        if (seed is not null && (seed.Accounts < 0 || seed.ContactsPerAccount < 0 || seed.OpportunitiesPerAccount < 0 || seed.Leads < 0
            || seed.Users < 0 || seed.CustomObjectRecords < 0))
        {
            throw new ArgumentException("Seed counts cannot be negative.", nameof(spec));
        }
        var n = Interlocked.Increment(ref _orgCounter);
        var pod = SalesforceId.ToBase62(n % 3844, 2);
        var orgId = SalesforceId.Create("00D", pod, n);
        var faults = new OrgFaults(spec.DailyApiLimit ?? _options.DefaultDailyApiLimit,
            AccessTokenLifetimeSeconds: _options.AccessTokenLifetimeSeconds);
        var org = new Org(orgId, spec.Name.Trim(), pod, Catalog, _time, faults);
        SeedGenerator.SeedUsers(org, Math.Max(1, seed?.Users ?? 4));
        if (seed is not null)
        {
            SeedGenerator.Seed(org, seed);
        }
        _orgs[orgId] = org;
        return Describe(org);
    }

    /// <summary>Every org, oldest first.</summary>
    public IReadOnlyList<SandboxOrgInfo> ListOrgs() => [.. Orgs.Select(Describe)];

    /// <summary>One org by id (15 or 18 characters) or name; null when unknown.</summary>
    public SandboxOrgInfo? GetOrg(string orgIdOrName) => FindOrg(orgIdOrName) is { } org ? Describe(org) : null;

    /// <summary>Deletes an org with its data and revokes its tokens; false when unknown.</summary>
    public bool DeleteOrg(string orgId)
    {
        if (FindOrg(orgId) is not { } org || !_orgs.TryRemove(org.Id, out _))
        {
            return false;
        }
        Tokens.RevokeOrg(org.Id);
        org.Activity.Settings = org.Activity.Settings with { Enabled = false };
        return true;
    }

    /// <summary>
    /// Issues an access and a refresh token for the org's integration user without the browser flow.
    /// <paramref name="instanceUrl"/> is the absolute base of the emulator as clients reach it
    /// (defaults to <see cref="SalesforceSandboxOptions.PublicBaseUrl"/>, else <c>http://localhost</c>).
    /// </summary>
    public SandboxTokenResponse IssueTokens(string orgId, string? instanceUrl = null, string clientId = "sandbox")
    {
        var org = RequireOrg(orgId);
        return IssueTokenResponse(org, org.UserId, clientId, instanceUrl ?? _options.PublicBaseUrl ?? "http://localhost",
            withRefreshToken: true, existingRefreshToken: null);
    }

    internal SandboxTokenResponse IssueTokenResponse(Org org, string userId, string clientId, string instanceUrl,
        bool withRefreshToken, string? existingRefreshToken)
    {
        var lifetime = TimeSpan.FromSeconds(Math.Max(1, org.Faults.AccessTokenLifetimeSeconds));
        var (access, refresh) = Tokens.Issue(org.Id, userId, clientId, lifetime, withRefreshToken, existingRefreshToken);
        var issuedAt = _time.GetUtcNow().ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        var id = $"{instanceUrl.TrimEnd('/')}/id/{org.Id}/{userId}";
        return new SandboxTokenResponse
        {
            AccessToken = access,
            RefreshToken = withRefreshToken ? refresh : null,
            InstanceUrl = instanceUrl.TrimEnd('/'),
            Id = id,
            IssuedAt = issuedAt,
            Signature = TokenStore.Sign(_signingKey, id, issuedAt),
        };
    }

    /// <summary>Revokes every access and refresh token of the org (clients then get 401 INVALID_SESSION_ID).</summary>
    public void RevokeTokens(string orgId) => Tokens.RevokeOrg(RequireOrg(orgId).Id);

    /// <summary>Current limits and faults, every member set.</summary>
    public SandboxFaults GetFaults(string orgId) => RequireOrg(orgId).Faults.ToContract();

    /// <summary>Changes limits and faults; null members stay unchanged. Returns the new settings.</summary>
    public SandboxFaults SetFaults(string orgId, SandboxFaults faults)
    {
        ArgumentNullException.ThrowIfNull(faults);
        var org = RequireOrg(orgId);
        var next = org.Faults.With(faults);
        if (next.DailyApiLimit < 0 || next.MaxConcurrentRequests < 0 || next.LatencyMs < 0 || next.JitterMs < 0
            || next.AccessTokenLifetimeSeconds < 1
            || new[] { next.ErrorRate500, next.ErrorRate503, next.TimeoutRate, next.DropConnectionRate }.Any(r => r is < 0 or > 1))
        {
            throw new ArgumentException("Limits must be non-negative, rates in [0, 1], token lifetime at least 1 second.", nameof(faults));
        }
        org.Faults = next;
        return next.ToContract();
    }

    /// <summary>Live-activity settings and counters.</summary>
    public SandboxActivityStatus GetActivity(string orgId)
    {
        var org = RequireOrg(orgId);
        var s = org.Activity.Settings;
        return new SandboxActivityStatus
        {
            Settings = new SandboxActivity
            {
                Enabled = s.Enabled, OperationsPerSecond = s.OperationsPerSecond, CreateWeight = s.CreateWeight,
                UpdateWeight = s.UpdateWeight, DeleteWeight = s.DeleteWeight, Objects = [.. s.Objects],
            },
            Creates = org.Activity.Creates,
            Updates = org.Activity.Updates,
            Deletes = org.Activity.Deletes,
        };
    }

    /// <summary>Starts, stops or re-tunes live activity; null members stay unchanged.</summary>
    public SandboxActivityStatus SetActivity(string orgId, SandboxActivity activity)
    {
        ArgumentNullException.ThrowIfNull(activity);
        var org = RequireOrg(orgId);
        var s = org.Activity.Settings;
        var objects = activity.Objects?.ToList() ?? [.. s.Objects];
        foreach (var name in objects)
        {
            if (Catalog.Find(name) is not { } type || type == Catalog.User)
            {
                throw new ArgumentException($"Live activity cannot mutate '{name}'.", nameof(activity));
            }
        }
        var next = new ActivitySettings(activity.Enabled ?? s.Enabled, activity.OperationsPerSecond ?? s.OperationsPerSecond,
            activity.CreateWeight ?? s.CreateWeight, activity.UpdateWeight ?? s.UpdateWeight, activity.DeleteWeight ?? s.DeleteWeight,
            [.. objects.Select(o => Catalog.Find(o)!.Name)]);
        if (next.OperationsPerSecond is < 0 or > 100_000 || next.CreateWeight < 0 || next.UpdateWeight < 0 || next.DeleteWeight < 0
            || next.CreateWeight + next.UpdateWeight + next.DeleteWeight == 0 || objects.Count == 0)
        {
            throw new ArgumentException("Rate must be in [0, 100000], weights non-negative and not all zero, objects non-empty.", nameof(activity));
        }
        org.Activity.Settings = next;
        return GetActivity(orgId);
    }

    /// <summary>Replaces the org's validation rules (see <see cref="SandboxValidationRule"/>).</summary>
    public void SetValidationRules(string orgId, IEnumerable<SandboxValidationRule> rules)
    {
        var org = RequireOrg(orgId);
        org.ValidationRules = ValidationRuleCompiler.Compile(rules, org.Catalog);
    }

    /// <summary>
    /// Changes the type of a custom field in one org, as "Change Field Type" in Setup does: describe reports the new
    /// type at once, and every stored value (recycle bin included) is converted, or cleared when it does not convert.
    /// Records keep their SystemModstamp and LastModifiedDate (it is a metadata change, not a record write).
    /// </summary>
    public SandboxFieldChangeResult ChangeFieldType(string orgId, string sobject, string field, SandboxFieldChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        var org = RequireOrg(orgId);
        lock (org.WriteGate)
        {
            var type = org.Catalog.Find(sobject) ?? throw new KeyNotFoundException($"No sObject '{sobject}'.");
            var old = type.FindField(field) ?? throw new KeyNotFoundException($"No field '{field}' on {type.Name}.");
            var retyped = FieldTypeChange.Retype(type, old, change.Type, change.Length, change.Precision, change.Scale);
            var changed = type.WithField(retyped);
            // Rules bind fields by name: re-bind them to the new definition first, refusing the change if one no longer binds.
            var rules = ValidationRuleCompiler.Compile(org.ValidationRules.Select(r => r.Source), org.Catalog.With(changed));
            int records = 0, cleared = 0;
            org.ChangeType(changed, record =>
            {
                var values = (object?[])record.Values.Clone();
                values[retyped.Ordinal] = FieldTypeChange.Convert(values[retyped.Ordinal], retyped, out var lost);
                records++;
                cleared += lost ? 1 : 0;
                return new Record(changed, values, record.IsDeleted, record.DeletedDate);
            });
            org.ValidationRules = rules;
            return new SandboxFieldChangeResult
            {
                Object = changed.Name, Field = retyped.Name, PreviousType = old.Type.DescribeName(), Type = retyped.Type.DescribeName(),
                Records = records, Lost = cleared,
            };
        }
    }

    /// <summary>The org's validation rules.</summary>
    public IReadOnlyList<SandboxValidationRule> GetValidationRules(string orgId) =>
        [.. RequireOrg(orgId).ValidationRules.Select(r => r.Source)];

    /// <summary>Records of an sObject; live only unless <paramref name="includeDeleted"/>.</summary>
    public int CountRecords(string orgId, string sobject, bool includeDeleted = false)
    {
        var org = RequireOrg(orgId);
        var type = org.Catalog.Find(sobject) ?? throw new ArgumentException($"Unknown sObject '{sobject}'.", nameof(sobject));
        var table = org.Table(type);
        return table.LiveCount + (includeDeleted ? table.DeletedCount : 0);
    }

    private static SandboxOrgInfo Describe(Org org) => new()
    {
        OrgId = org.Id,
        Name = org.Name,
        UserId = org.UserId,
        CreatedDate = new DateTimeOffset(org.CreatedDate),
        RecordCounts = org.Tables.OrderBy(t => t.Type.Name, StringComparer.Ordinal).ToDictionary(t => t.Type.Name, t => t.LiveCount),
        DeletedCounts = org.Tables.OrderBy(t => t.Type.Name, StringComparer.Ordinal).ToDictionary(t => t.Type.Name, t => t.DeletedCount),
        ApiRequestsUsed = org.ApiUsed,
        DailyApiLimit = org.Faults.DailyApiLimit,
    };
}
