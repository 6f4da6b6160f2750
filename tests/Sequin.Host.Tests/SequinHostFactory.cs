using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Sequin.Host.Tests;

/// <summary>The real host (Program) in-process against a given platform database.</summary>
internal sealed class SequinHostFactory(string connectionString, Action<IServiceCollection>? configureServices = null)
    : WebApplicationFactory<Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Sequin:Platform:ConnectionString", connectionString);
        builder.ConfigureAppConfiguration(c => c.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:MinimumLevel:Default"] = "Warning",
        }));
        if (configureServices is not null)
        {
            builder.ConfigureServices(configureServices);
        }
    }
}
