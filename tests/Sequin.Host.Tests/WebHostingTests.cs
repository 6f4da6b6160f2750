using System.Net;
using System.Net.Http.Json;
using Sequin.Testing;
using Shouldly;

namespace Sequin.Host.Tests;

public sealed class WebHostingTests
{
    [Fact]
    public async Task Dashboard_ClientRoutesGetIndexHtml_ApiPathsNever()
    {
        var cs = await PostgresServer.Instance.CreateDatabaseAsync("web");
        var root = Path.Combine(Path.GetTempPath(), $"sequin-web-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.Combine(root, "assets"));
        await File.WriteAllTextAsync(Path.Combine(root, "index.html"), "<!doctype html><title>Sequin dashboard</title>");
        await File.WriteAllTextAsync(Path.Combine(root, "assets", "app.js"), "console.log(1)");
        try
        {
            await using var factory = new SequinHostFactory(cs).WithWebHostBuilder(b => b.UseSetting("Sequin:Web:Root", root));
            using var client = factory.CreateClient();

            (await client.GetStringAsync("/")).ShouldContain("Sequin dashboard");
            (await client.GetStringAsync("/orgs/123/syncs/456")).ShouldContain("Sequin dashboard");
            var asset = await client.GetAsync("/assets/app.js");
            asset.StatusCode.ShouldBe(HttpStatusCode.OK);
            asset.Headers.CacheControl!.ToString().ShouldContain("immutable");

            (await client.GetAsync("/assets/missing.js")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
            var api = await client.GetAsync("/api/v1/no-such-endpoint");
            api.StatusCode.ShouldBe(HttpStatusCode.NotFound);
            (await api.Content.ReadAsStringAsync()).ShouldNotContain("Sequin dashboard");
            var wrongType = await client.PostAsync("/api/v1/auth/signin", new StringContent("a=b", System.Text.Encoding.UTF8, "text/plain"));
            wrongType.StatusCode.ShouldBe(HttpStatusCode.UnsupportedMediaType, "an API refusal is never replaced by the SPA");
            (await client.PostAsJsonAsync("/orgs/x", new { })).StatusCode.ShouldBe(HttpStatusCode.NotFound, "only GET/HEAD of client routes get the SPA");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
            await PostgresServer.Instance.DropDatabaseAsync(cs);
        }
    }
}
