using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sequin.ControlPlane.Hosting;
using Sequin.ControlPlane.Syncs;
using Sequin.Platform.Data;
using Sequin.Platform.Security;
using Sequin.Sandbox;

namespace Sequin.ControlPlane.Demo;

/// <summary>What the demo set up this run, for the start-up banner.</summary>
public sealed class DemoState
{
    public string? Email { get; internal set; }
    public string? Password { get; internal set; }
    public Guid? OrgId { get; internal set; }
    public Guid? SyncId { get; internal set; }
    public string? ProxyUrl { get; internal set; }
    public string? DirectUrl { get; internal set; }
    public string? Problem { get; internal set; }
}

/// <summary>
/// Sets up the demo once the server listens (<see cref="IHostedLifecycleService.StartedAsync"/>, before the banner):
/// sandbox org <c>demo</c> (seeded deterministically, live activity on), user and organization "Demo", a Salesforce
/// connection to the sandbox org and a sync of Account, Contact, Opportunity and Lead into <c>salesforce</c>. The
/// sandbox keeps its data in memory, so on later starts the org is seeded again with the same ids, the
/// connection gets fresh tokens and every demo table is resynced (rows no longer upstream are swept).
/// </summary>
internal sealed partial class DemoSeeder(
    IServiceProvider services,
    IOptions<DemoOptions> options,
    SalesforceSandbox sandbox,
    IConfiguration configuration,
    DemoState state,
    ILogger<DemoSeeder> logger) : IHostedLifecycleService
{
    private static readonly string[] Objects = ["Account", "Contact", "Opportunity", "Lead"];

    private Prepared? _prepared;

    /// <summary>
    /// Before any hosted service starts (so before the sync workers pick up the demo sync): the sandbox org, the demo
    /// user and organization, and the connection with freshly issued tokens — all in-process, no HTTP needed.
    /// </summary>
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        try
        {
            _prepared = await PrepareAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The demo is a convenience: the product keeps running without it.
            state.Problem = e.Message;
            LogFailed(logger, e);
        }
    }

    /// <summary>Once the server listens (before the banner): create the sync (first run) or resync it (later runs).</summary>
    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        if (_prepared is not { } prepared)
        {
            return;
        }

        try
        {
            await FinishAsync(prepared, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            state.Problem = e.Message;
            LogFailed(logger, e);
        }
    }

    private sealed record Prepared(Guid OrgId, Guid ConnectionId, string SandboxOrgId, string Password);

    private async Task<Prepared> PrepareAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var baseUrl = ConfiguredBase();
        var sandboxOrg = sandbox.GetOrg("demo") ?? sandbox.CreateOrg(new SandboxOrgSpec
        {
            Name = "demo",
            Seed = new SandboxSeedSpec { Accounts = settings.Accounts, ContactsPerAccount = 5, OpportunitiesPerAccount = 2, Leads = 50, RandomSeed = 42 },
        });
        if (settings.ChangesPerSecond > 0)
        {
            sandbox.SetActivity(sandboxOrg.OrgId, new SandboxActivity
            {
                Enabled = true,
                OperationsPerSecond = settings.ChangesPerSecond,
                CreateWeight = 1,
                UpdateWeight = 3,
                DeleteWeight = 1,
                Objects = ["Contact", "Account", "Opportunity"],
            });
        }

        await using var scope = services.CreateAsyncScope();
        var sp = scope.ServiceProvider;
        var db = sp.GetRequiredService<PlatformDbContext>();
        var secrets = sp.GetRequiredService<ISecretProtector>();
        var password = await DemoPasswordAsync(settings);
        var user = await db.Users.SingleOrDefaultAsync(u => u.NormalizedEmail == settings.Email.ToUpperInvariant(), cancellationToken);
        var now = DateTimeOffset.UtcNow;
        Guid orgId;
        if (user is null)
        {
            var users = sp.GetRequiredService<UserManager<User>>();
            user = new User { Id = Guid.CreateVersion7(), UserName = settings.Email, Email = settings.Email, DisplayName = "Demo", CreatedAt = now };
            var created = await users.CreateAsync(user, password);
            if (!created.Succeeded)
            {
                throw new InvalidOperationException("demo user: " + string.Join("; ", created.Errors.Select(e => e.Description)));
            }

            orgId = Guid.CreateVersion7();
            var slug = await db.Organizations.AnyAsync(o => o.Slug == "demo", cancellationToken) ? $"demo-{HostedDatabases.Short(orgId)}" : "demo";
            db.Organizations.Add(new Organization { Id = orgId, Name = "Demo", Slug = slug, CreatedAt = now });
            db.Memberships.Add(new Membership { OrgId = orgId, UserId = user.Id, Role = OrganizationRoles.Owner, CreatedAt = now });
            await db.SaveChangesAsync(cancellationToken);
        }
        else
        {
            orgId = await db.Memberships.Where(m => m.UserId == user.Id).OrderBy(m => m.CreatedAt).Select(m => m.OrgId).FirstAsync(cancellationToken);
        }

        // The sandbox forgets tokens when it restarts: issue fresh ones in-process and store them (encrypted).
        var tokens = sandbox.IssueTokens(sandboxOrg.OrgId, $"{baseUrl}/sandbox/salesforce", "sequin");
        var credentials = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["instance_url"] = tokens.InstanceUrl,
            ["access_token"] = tokens.AccessToken,
            ["refresh_token"] = tokens.RefreshToken ?? "",
            ["client_id"] = "sequin",
            ["login_url"] = $"{baseUrl}/sandbox/salesforce",
        });
        var connection = await db.SourceConnections.SingleOrDefaultAsync(c => c.OrgId == orgId && c.Name == "Salesforce (demo)", cancellationToken);
        if (connection is null)
        {
            connection = new SourceConnection
            {
                Id = Guid.CreateVersion7(), OrgId = orgId, Kind = "salesforce", Name = "Salesforce (demo)", Status = "active",
                InstanceUrl = tokens.InstanceUrl, ExternalAccountId = sandboxOrg.OrgId, CreatedAt = now, UpdatedAt = now,
            };
            db.SourceConnections.Add(connection);
        }

        connection.CredentialsProtected = secrets.Protect(SecretPurposes.SourceCredentials, credentials);
        connection.InstanceUrl = tokens.InstanceUrl;
        connection.Status = "active";
        connection.LastError = null;
        connection.UpdatedAt = now;
        await db.SaveChangesAsync(cancellationToken);

        return new Prepared(orgId, connection.Id, sandboxOrg.OrgId, password);
    }

    private async Task FinishAsync(Prepared prepared, CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var sp = scope.ServiceProvider;
        var db = sp.GetRequiredService<PlatformDbContext>();
        sp.GetRequiredService<TenantScope>().Enter(prepared.OrgId);
        var sync = await db.Syncs.Where(s => s.OrgId == prepared.OrgId && s.SchemaName == "salesforce").SingleOrDefaultAsync(cancellationToken);
        if (sync is null)
        {
            var result = await sp.GetRequiredService<CreateSyncCommand>().ExecuteAsync(new CreateSyncRequest(prepared.ConnectionId, "salesforce", null,
                Objects.Select(o => new SyncTableRequest(o, null)).ToList(), 1000, "Demo"), cancellationToken);
            state.SyncId = result.SyncId ?? throw new InvalidOperationException($"demo sync: {result.Error}");
            LogCreated(logger, prepared.SandboxOrgId);
        }
        else
        {
            state.SyncId = sync.Id;
            // The sandbox was seeded anew: resync every table so rows created or deleted by the last run's live
            // activity converge (the resync sweeps rows that are no longer upstream).
            var control = sp.GetRequiredService<ControlSyncCommand>();
            if (sync.State is "paused" or "error")
            {
                await control.ResumeAsync(sync.Id, cancellationToken);
            }

            foreach (var table in await db.SyncTables.Where(t => t.SyncId == sync.Id).Select(t => t.TableName).ToListAsync(cancellationToken))
            {
                await control.ResyncAsync(sync.Id, table, cancellationToken);
            }

            LogRefreshed(logger, prepared.SandboxOrgId);
        }

        var instructions = await sp.GetRequiredService<ConnectionInstructionsQuery>().GetAsync(state.SyncId.Value, reveal: true, cancellationToken);
        state.Email = options.Value.Email;
        state.Password = prepared.Password;
        state.OrgId = prepared.OrgId;
        state.ProxyUrl = instructions?.Proxy.Url;
        state.DirectUrl = instructions?.Direct?.Url;
    }

    private static async Task<string> DemoPasswordAsync(DemoOptions settings)
    {
        var path = Path.GetFullPath(settings.PasswordFile);
        if (File.Exists(path))
        {
            return (await File.ReadAllTextAsync(path)).Trim();
        }

        var password = "demo-" + HostedDatabases.NewPassword()[..12];
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, password);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        return password;
    }

    /// <summary>The address this host will listen on (from configuration: the server has not bound yet).</summary>
    private string ConfiguredBase() => HostAddresses.Loopback(
        configuration[WebHostDefaults.ServerUrlsKey] is { Length: > 0 } urls ? urls : configuration["Sequin:Http:Urls"] ?? "http://127.0.0.1:8080");

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Demo created: sandbox org {SandboxOrg}, sync into schema salesforce")]
    private static partial void LogCreated(ILogger logger, string sandboxOrg);

    [LoggerMessage(Level = LogLevel.Information, Message = "Demo refreshed: sandbox org {SandboxOrg} seeded again, demo tables resyncing")]
    private static partial void LogRefreshed(ILogger logger, string sandboxOrg);

    [LoggerMessage(Level = LogLevel.Error, Message = "The demo could not be set up; Sequin runs without it")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
