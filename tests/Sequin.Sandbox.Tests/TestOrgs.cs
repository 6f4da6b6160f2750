using Microsoft.Extensions.Options;
using Sequin.Sandbox.Salesforce.Store;

namespace Sequin.Sandbox.Tests;

/// <summary>Builds an in-process sandbox and org without HTTP.</summary>
internal static class TestOrgs
{
    public static (SalesforceSandbox Sandbox, Org Org) Create(SandboxSeedSpec? seed = null, Action<SalesforceSandboxOptions>? configure = null,
        TimeProvider? time = null)
    {
        var options = new SalesforceSandboxOptions();
        configure?.Invoke(options);
        var sandbox = new SalesforceSandbox(Options.Create(options), time ?? TimeProvider.System);
        var info = sandbox.CreateOrg(new SandboxOrgSpec { Name = "test", Seed = seed });
        return (sandbox, sandbox.RequireOrg(info.OrgId));
    }
}

/// <summary>A clock the test moves by hand (no FakeTimeProvider package in the mirror).</summary>
internal sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;

    public override DateTimeOffset GetUtcNow() => Now;

    public void Advance(TimeSpan by) => Now += by;
}
