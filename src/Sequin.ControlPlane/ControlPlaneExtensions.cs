using System.Text.Json.Serialization;
using System.Threading.RateLimiting;
using FluentValidation;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Sequin.ControlPlane.ApiKeys;
using Sequin.ControlPlane.Audit;
using Sequin.ControlPlane.Auth;
using Sequin.ControlPlane.Connections;
using Sequin.ControlPlane.Demo;
using Sequin.ControlPlane.Discovery;
using Sequin.ControlPlane.Hosting;
using Sequin.ControlPlane.Syncs;
using Sequin.ControlPlane.Infrastructure;
using Sequin.ControlPlane.Organizations;
using Sequin.ControlPlane.Tenancy;
using Sequin.Platform.Data;
using Sequin.Platform.Hosting;

namespace Sequin.ControlPlane;

/// <summary>Settings of section <c>Sequin:ControlPlane</c>.</summary>
public sealed class ControlPlaneOptions
{
    public const string Section = "Sequin:ControlPlane";

    /// <summary>Sign-in and sign-up attempts allowed per client IP per minute (default 20).</summary>
    public int AuthAttemptsPerMinute { get; set; } = 20;

    /// <summary>Mark the session cookie Secure (HTTPS only). Default false for the local http default; set true behind TLS.</summary>
    public bool SecureCookies { get; set; }

    /// <summary>Proxy host name shown in connection instructions. Default: the proxy's listen host (127.0.0.1 for a wildcard).</summary>
    public string? ProxyPublicHost { get; set; }

    /// <summary>Proxy port shown in connection instructions. Default: the proxy's listen port.</summary>
    public int? ProxyPublicPort { get; set; }
}

/// <summary>Composition of the REST control plane (mounted under <c>/api/v1</c>, OpenAPI at <c>/openapi/v1.json</c>, reference at <c>/api/docs</c>).</summary>
public static class ControlPlaneExtensions
{
    private const string SmartScheme = "Sequin";

    public static IServiceCollection AddSequinControlPlane(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ControlPlaneOptions>().Bind(configuration.GetSection(ControlPlaneOptions.Section));
        services.TryAddTimeProvider();
        services.AddHttpContextAccessor();

        services.AddIdentityCore<User>(o =>
            {
                // NIST SP 800-63B: length over composition rules.
                o.Password.RequiredLength = 10;
                o.Password.RequiredUniqueChars = 4;
                o.Password.RequireDigit = false;
                o.Password.RequireLowercase = false;
                o.Password.RequireUppercase = false;
                o.Password.RequireNonAlphanumeric = false;
                o.User.RequireUniqueEmail = true;
                o.User.AllowedUserNameCharacters += "+";
                o.Lockout.MaxFailedAccessAttempts = 10;
                o.Lockout.DefaultLockoutTimeSpan = TimeSpan.FromMinutes(15);
            })
            .AddEntityFrameworkStores<PlatformDbContext>()
            .AddSignInManager()
            .AddDefaultTokenProviders();

        services.AddAuthentication(o =>
            {
                o.DefaultScheme = SmartScheme;
                o.DefaultChallengeScheme = SmartScheme;
            })
            .AddPolicyScheme(SmartScheme, "Cookie or API key", o => o.ForwardDefaultSelector = http =>
                http.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
                    ? ApiKeyAuthenticationHandler.SchemeName
                    : IdentityConstants.ApplicationScheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null)
            .AddIdentityCookies();
        services.ConfigureApplicationCookie(o =>
        {
            o.Cookie.Name = "sequin_session";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Lax; // Lax: the OAuth callback is a top-level GET from the provider's consent page.
            o.ExpireTimeSpan = TimeSpan.FromDays(14);
            o.SlidingExpiration = true;
            o.Events.OnRedirectToLogin = c => { c.Response.StatusCode = StatusCodes.Status401Unauthorized; return Task.CompletedTask; };
            o.Events.OnRedirectToAccessDenied = c => { c.Response.StatusCode = StatusCodes.Status403Forbidden; return Task.CompletedTask; };
        });
        services.AddAuthorization();
        services.AddAntiforgery(o =>
        {
            o.HeaderName = "X-CSRF-TOKEN";
            o.Cookie.Name = "sequin_csrf";
            o.Cookie.SameSite = SameSiteMode.Strict;
        });
        // Read from the final configuration (options), not from the partial one seen at registration.
        services.AddOptions<CookieAuthenticationOptions>(IdentityConstants.ApplicationScheme).Configure<IOptions<ControlPlaneOptions>>((o, cp) =>
            o.Cookie.SecurePolicy = cp.Value.SecureCookies ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest);
        services.AddOptions<AntiforgeryOptions>().Configure<IOptions<ControlPlaneOptions>>((o, cp) =>
            o.Cookie.SecurePolicy = cp.Value.SecureCookies ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest);

        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.AddPolicy(AuthEndpoints.RateLimitPolicy, http => RateLimitPartition.GetFixedWindowLimiter(
                http.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = http.RequestServices.GetRequiredService<IOptions<ControlPlaneOptions>>().Value.AuthAttemptsPerMinute,                     Window = TimeSpan.FromMinutes(1),
                    QueueLimit = 0,
                }));
            o.OnRejected = async (context, ct) =>
            {
                context.HttpContext.Response.Headers.RetryAfter = "60";
                await TypedResults.Problem(title: "Too many requests", detail: "Too many sign-in or sign-up attempts; wait a minute.",
                    statusCode: StatusCodes.Status429TooManyRequests).ExecuteAsync(context.HttpContext);
            };
        });

        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter());
        });
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddExceptionHandler<BadRequestExceptionHandler>();
        services.AddOpenApi("v1", o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Sequin control plane";
            document.Info.Version = "v1";
            document.Info.Description = "Sign up, connect sources, create syncs and get connection instructions. " +
                "Authenticate with the session cookie (dashboard) or 'Authorization: Bearer sqn_…' (API keys).";
            return Task.CompletedTask;
        }));

        services.AddScoped<OrgAccessFilter>();
        services.AddScoped<CookieAntiforgeryFilter>();
        services.AddScoped<AuditLog>();
        services.AddScoped<SignUpCommand>();
        services.AddScoped<CreateApiKeyCommand>();
        services.AddScoped<RevokeApiKeyCommand>();
        services.AddScoped<IValidator<SignUpRequest>, SignUpRequestValidator>();
        services.AddScoped<IValidator<SignInRequest>, SignInRequestValidator>();
        services.AddScoped<IValidator<CreateApiKeyRequest>, CreateApiKeyRequestValidator>();

        services.AddOptions<SalesforceSourceOptions>().Bind(configuration.GetSection(SalesforceSourceOptions.Section));
        services.AddHttpClient(SalesforceOAuthClient.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(30));
        services.AddSingleton<SalesforceOAuthClient>();
        services.AddScoped<StartOAuthConnectionCommand>();
        services.AddScoped<CompleteOAuthConnectionCommand>();
        services.AddScoped<DeleteConnectionCommand>();
        services.AddScoped<ConnectorProvider>();

        services.AddOptions<HostedDatabaseOptions>().Bind(configuration.GetSection(HostedDatabaseOptions.Section));
        services.AddSingleton<HostedDatabases>();
        services.AddScoped<CreateSyncCommand>();
        services.AddScoped<GetSyncsQuery>();
        services.AddScoped<ControlSyncCommand>();
        services.AddScoped<UpdateSyncCommand>();
        services.AddScoped<DeleteSyncCommand>();
        services.AddScoped<ConnectionInstructionsQuery>();
        services.AddScoped<RotateCredentialsCommand>();
        services.AddScoped<IValidator<CreateSyncRequest>, CreateSyncRequestValidator>();
        services.AddScoped<IValidator<UpdateSyncRequest>, UpdateSyncRequestValidator>();
        services.AddScoped<IValidator<RotateCredentialsRequest>, RotateCredentialsRequestValidator>();
        services.AddScoped<IValidator<TestDestinationRequest>, TestDestinationRequestValidator>();
        services.AddScoped<IValidator<StartOAuthRequest>, StartOAuthRequestValidator>();
        return services;
    }

    /// <summary>
    /// Adds the first-run demo (<see cref="DemoOptions"/>, off unless <c>Sequin:Demo:Enabled</c>) and its banner
    /// lines. Needs the Salesforce sandbox registered.
    /// </summary>
    public static IServiceCollection AddSequinDemo(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DemoOptions>().Bind(configuration.GetSection(DemoOptions.Section));
        services.AddSingleton<DemoState>();
        services.AddHostedService<DemoSeeder>();
        services.AddSingleton(new BannerLine(21, "Demo login", sp => sp.GetRequiredService<DemoState>() is { Email: { } email } demo
            ? $"{email} / {demo.Password}"
            : sp.GetRequiredService<DemoState>().Problem is { } problem ? $"not available: {problem}" : null));
        services.AddSingleton(new BannerLine(30, "Proxy URL", sp => sp.GetRequiredService<DemoState>().ProxyUrl));
        services.AddSingleton(new BannerLine(31, "Direct DB URL", sp => sp.GetRequiredService<DemoState>().DirectUrl is { } url ? $"{url}  (read-only)" : null));
        return services;
    }

    /// <summary>Adds the control plane's middleware and maps <c>/api/v1</c>, <c>/openapi/v1.json</c> and <c>/api/docs</c>.</summary>
    public static WebApplication UseSequinControlPlane(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();

        app.MapOpenApi("/openapi/{documentName}.json");
        app.UseSwaggerUI(o =>
        {
            o.SwaggerEndpoint("/openapi/v1.json", "Sequin v1");
            o.RoutePrefix = "api/docs";
            o.DocumentTitle = "Sequin API reference";
        });

        var api = app.MapGroup("/api/v1").AddEndpointFilter<CookieAntiforgeryFilter>();
        api.MapAuthEndpoints();
        api.MapOAuthCallback();

        var org = api.MapGroup("/orgs/{orgId}").RequireAuthorization().AddEndpointFilter<OrgAccessFilter>();
        org.MapOrganizationEndpoints();
        org.MapApiKeyEndpoints();
        org.MapConnectionEndpoints();
        org.MapDiscoveryEndpoints();
        org.MapSyncEndpoints();
        org.MapDestinationEndpoints();
        return app;
    }

    private static void TryAddTimeProvider(this IServiceCollection services)
    {
        if (!services.Any(d => d.ServiceType == typeof(TimeProvider)))
        {
            services.AddSingleton(TimeProvider.System);
        }
    }
}
