using System.Net;
using System.Net.Http.Json;
using System.Text;
using Shouldly;

namespace Sequin.ControlPlane.Tests;

public sealed class AuthTests(ControlPlaneFactory factory) : IClassFixture<ControlPlaneFactory>
{
    [Fact]
    public async Task SignUp_ValidRequest_CreatesOwnerOrganizationAndSignsIn()
    {
        var tenant = await factory.SignUpAsync(organization: "Acme Corp.");

        var me = await (await tenant.Client.GetAsync("/api/v1/me")).JsonAsync();
        me.GetProperty("user").GetProperty("email").GetString().ShouldBe(tenant.Email);
        var org = me.GetProperty("organizations")[0];
        org.GetProperty("role").GetString().ShouldBe("owner");
        org.GetProperty("slug").GetString()!.ShouldStartWith("acme-corp");

        var audit = await (await tenant.Client.GetAsync($"/api/v1/orgs/{tenant.OrgId}/audit-log")).JsonAsync();
        audit[0].GetProperty("action").GetString().ShouldBe("organization.created");
        audit[0].GetProperty("actorEmail").GetString().ShouldBe(tenant.Email);
    }

    [Fact]
    public async Task SignUp_SessionCookie_IsHttpOnlyAndSameSiteLax()
    {
        using var client = factory.CreateClient(new() { HandleCookies = false });
        var response = await client.PostAsJsonAsync("/api/v1/auth/signup",
            new { email = $"c-{Guid.NewGuid():N}@example.com", password = "correct horse battery", organizationName = "X" });
        var cookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("sequin_session=", StringComparison.Ordinal));
        cookie.ShouldContain("httponly", Case.Insensitive);
        cookie.ShouldContain("samesite=lax", Case.Insensitive);
    }

    [Fact]
    public async Task SignUp_DuplicateEmail_Returns409AndCreatesNothing()
    {
        var first = await factory.SignUpAsync();
        using var client = factory.CreateClient();
        var response = await client.PostAsJsonAsync("/api/v1/auth/signup",
            new { email = first.Email, password = "another long password", organizationName = "Other" });
        response.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        (await client.GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData("""{"email":"a@example.com","password":"short","organizationName":"X"}""", "password")]
    [InlineData("""{"email":"not-an-email","password":"long enough password","organizationName":"X"}""", "email")]
    [InlineData("""{"email":"a@example.com","password":"long enough password","organizationName":""}""", "organizationName")]
    [InlineData("""{"email":"a@example.com","password":"aaaaaaaaaaaaaaa","organizationName":"X"}""", "password")]
    public async Task SignUp_InvalidField_Returns400WithThatFieldsError(string json, string field)
    {
        using var client = factory.CreateClient();
        var response = await client.PostAsync("/api/v1/auth/signup", new StringContent(json, Encoding.UTF8, "application/json"));
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var problem = await response.JsonAsync();
        problem.GetProperty("errors").TryGetProperty(field, out _).ShouldBeTrue(problem.ToString());
    }

    [Fact]
    public async Task SignUp_TooLongOrganizationName_Returns400()
    {
        using var client = factory.CreateClient();
        var response = await client.PostAsJsonAsync("/api/v1/auth/signup",
            new { email = "long@example.com", password = "long enough password", organizationName = new string('x', 201) });
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.JsonAsync()).GetProperty("errors").TryGetProperty("organizationName", out _).ShouldBeTrue();
    }

    [Theory]
    [InlineData("{\"email\": ", "not valid JSON")]
    [InlineData("""{"email":"a@example.com","password":"long enough password","organizationName":"X","isAdmin":true}""", "isAdmin")]
    public async Task SignUp_MalformedOrUnknownJson_Returns400ProblemSayingWhy(string json, string mention)
    {
        using var client = factory.CreateClient();
        var response = await client.PostAsync("/api/v1/auth/signup", new StringContent(json, Encoding.UTF8, "application/json"));
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        (await response.JsonAsync()).GetProperty("detail").GetString()!.ShouldContain(mention);
        (await client.GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task SignUp_WrongContentType_Returns415()
    {
        using var client = factory.CreateClient();
        var response = await client.PostAsync("/api/v1/auth/signup", new StringContent("email=a", Encoding.UTF8, "application/x-www-form-urlencoded"));
        response.StatusCode.ShouldBe(HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task SignIn_WrongThenRightPassword_Returns401Then204WithSession()
    {
        var tenant = await factory.SignUpAsync();
        using var client = factory.CreateClient();

        var wrong = await client.PostAsJsonAsync("/api/v1/auth/signin", new { email = tenant.Email, password = "wrong password!" });
        wrong.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await client.GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);

        var right = await client.PostAsJsonAsync("/api/v1/auth/signin", new { email = tenant.Email, password = "correct horse battery" });
        right.StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await client.GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.OK);

        await client.UseCsrfAsync();
        (await client.PostAsync("/api/v1/auth/signout", null)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await client.GetAsync("/api/v1/me")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task CookieMutation_WithoutCsrfToken_Returns400AndChangesNothing()
    {
        var tenant = await factory.SignUpAsync();
        tenant.Client.DefaultRequestHeaders.Remove("X-CSRF-TOKEN");

        var response = await tenant.Client.PostAsJsonAsync($"/api/v1/orgs/{tenant.OrgId}/api-keys", new { name = "ci" });
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.JsonAsync()).GetProperty("title").GetString()!.ShouldContain("Antiforgery");

        await tenant.Client.UseCsrfAsync();
        var keys = await (await tenant.Client.GetAsync($"/api/v1/orgs/{tenant.OrgId}/api-keys")).JsonAsync();
        keys.GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task OpenApi_DocumentAndReferencePage_AreServed()
    {
        using var client = factory.CreateClient();
        var document = await client.GetStringAsync("/openapi/v1.json");
        document.ShouldContain("/api/v1/auth/signup");
        document.ShouldContain("/api/v1/orgs/{orgId}/api-keys");
        (await client.GetAsync("/api/docs/index.html")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }
}

/// <summary>A host with a low sign-in budget to observe the rate limiter.</summary>
public sealed class RateLimitedFactory : ControlPlaneFactory
{
    protected override int AuthAttemptsPerMinute => 3;
}

public sealed class RateLimitTests(RateLimitedFactory factory) : IClassFixture<RateLimitedFactory>
{
    [Fact]
    public async Task SignIn_OverTheBudget_Returns429WithRetryAfter()
    {
        using var client = factory.CreateClient();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            statuses.Add((await client.PostAsJsonAsync("/api/v1/auth/signin", new { email = "x@example.com", password = "whatever1234" })).StatusCode);
        }

        statuses.Take(3).ShouldAllBe(s => s == HttpStatusCode.Unauthorized);
        statuses.Skip(3).ShouldAllBe(s => s == HttpStatusCode.TooManyRequests);
        var limited = await client.PostAsJsonAsync("/api/v1/auth/signin", new { email = "x@example.com", password = "whatever1234" });
        limited.Headers.RetryAfter.ShouldNotBeNull();
    }
}
