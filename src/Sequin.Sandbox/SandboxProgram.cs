
namespace Sequin.Sandbox;

/// <summary>
/// Standalone entry point: <c>dotnet run --project src/Sequin.Sandbox -- --urls http://127.0.0.1:5180</c>.
/// Options bind from the <c>Sandbox:Salesforce</c> section (command line, environment
/// <c>Sandbox__Salesforce__AdminKey</c>, or an optional <c>sandbox.settings.json</c>). Without configured
/// orgs, one demo org "acme" is created so a first run has data.
/// </summary>
public static class SandboxProgram
{
    /// <summary>Runs the emulator until shutdown; returns the process exit code.</summary>
    public static async Task<int> Main(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Configuration.AddJsonFile("sandbox.settings.json", optional: true);
        // Per-request logs would cost more than serving a query page; keep start-up and errors only.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        var section = builder.Configuration.GetSection("Sandbox:Salesforce");
        builder.Services.AddSalesforceSandbox(options =>
        {
            section.Bind(options);
            if (options.Orgs.Count == 0 && !section.GetValue("NoDemoOrg", false))
            {
                options.Orgs.Add(new SandboxOrgSpec
                {
                    Name = "acme",
                    Seed = new SandboxSeedSpec { Accounts = 100, ContactsPerAccount = 5, OpportunitiesPerAccount = 2, Leads = 50 },
                });
            }
        });
        var app = builder.Build();
        app.MapSalesforceSandbox();
        await app.RunAsync();
        return 0;
    }
}
