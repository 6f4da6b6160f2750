using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Sequin.ControlPlane.Infrastructure;
using Sequin.Platform.Data;

namespace Sequin.ControlPlane.Auth;

/// <summary><c>/api/v1/auth/*</c> and <c>/api/v1/me</c>: sign-up, sign-in, sign-out, antiforgery token, current user.</summary>
internal static class AuthEndpoints
{
    public const string RateLimitPolicy = "auth";

    public static RouteGroupBuilder MapAuthEndpoints(this RouteGroupBuilder api)
    {
        var auth = api.MapGroup("/auth").WithTags("Authentication");

        auth.MapPost("/signup", SignUpAsync).Validate<SignUpRequest>().RequireRateLimiting(RateLimitPolicy)
            .WithSummary("Create an account and its organization; signs in with a session cookie.");
        auth.MapPost("/signin", SignInAsync).Validate<SignInRequest>().RequireRateLimiting(RateLimitPolicy)
            .WithSummary("Sign in with email and password; sets the session cookie.");
        auth.MapPost("/signout", SignOutAsync).RequireAuthorization()
            .WithSummary("End the session.");
        auth.MapGet("/csrf", (IAntiforgery antiforgery, HttpContext http) =>
            {
                var tokens = antiforgery.GetAndStoreTokens(http);
                return TypedResults.Ok(new CsrfResponse(tokens.RequestToken!, tokens.HeaderName!));
            })
            .WithSummary("Antiforgery token for cookie-authenticated changes (send as X-CSRF-TOKEN).");

        api.MapGet("/me", GetMeAsync).RequireAuthorization().WithTags("Authentication")
            .WithSummary("The caller: user and organizations (cookie), or the API key's organization.");
        return api;
    }

    private static async Task<Results<Created<MeResponse>, ValidationProblem, ProblemHttpResult>> SignUpAsync(
        SignUpRequest request, SignUpCommand command, CancellationToken cancellationToken)
    {
        var result = await command.ExecuteAsync(request, cancellationToken);
        if (result.Errors is { } errors)
        {
            return result.Duplicate
                ? TypedResults.Problem(title: "Conflict", detail: "An account with this email already exists.", statusCode: StatusCodes.Status409Conflict,
                    extensions: new Dictionary<string, object?> { ["errors"] = errors })
                : TypedResults.ValidationProblem(errors);
        }

        var org = result.Organization!;
        return TypedResults.Created("/api/v1/me", new MeResponse(
            new MeUser(result.User!.Id, result.User.Email!, result.User.DisplayName),
            [new MeOrganization(org.Id, org.Name, org.Slug, OrganizationRoles.Owner)],
            "cookie"));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> SignInAsync(
        SignInRequest request, SignInManager<User> signIn)
    {
        var result = await signIn.PasswordSignInAsync(request.Email.Trim(), request.Password, isPersistent: true, lockoutOnFailure: true);
        if (result.IsLockedOut)
        {
            return TypedResults.Problem(title: "Account locked", detail: "Too many failed sign-ins; try again in 15 minutes.", statusCode: StatusCodes.Status423Locked);
        }

        return result.Succeeded ? TypedResults.NoContent() : Problems.Unauthorized("Email or password is wrong.");
    }

    private static async Task<NoContent> SignOutAsync(SignInManager<User> signIn)
    {
        await signIn.SignOutAsync();
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<MeResponse>, UnauthorizedHttpResult>> GetMeAsync(
        HttpContext http, PlatformDbContext db, CancellationToken cancellationToken)
    {
        var actor = CurrentActor.From(http.User);
        if (actor.ApiKeyOrgId is { } keyOrg)
        {
            var org = await db.Organizations.AsNoTracking().SingleAsync(o => o.Id == keyOrg, cancellationToken);
            return TypedResults.Ok(new MeResponse(null, [new MeOrganization(org.Id, org.Name, org.Slug, OrganizationRoles.Admin)], "api_key"));
        }

        if (actor.UserId is not { } userId || await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Id == userId, cancellationToken) is not { } user)
        {
            return TypedResults.Unauthorized();
        }

        var memberships = await db.Memberships.AsNoTracking().Where(m => m.UserId == userId)
            .Select(m => new { m.OrgId, m.Role }).ToListAsync(cancellationToken);
        var orgIds = memberships.Select(m => m.OrgId).ToList();
        var orgs = await db.Organizations.AsNoTracking().Where(o => orgIds.Contains(o.Id)).ToDictionaryAsync(o => o.Id, cancellationToken);
        var organizations = memberships
            .Select(m => new MeOrganization(m.OrgId, orgs[m.OrgId].Name, orgs[m.OrgId].Slug, m.Role))
            .OrderBy(o => o.Name, StringComparer.Ordinal)
            .ToList();
        return TypedResults.Ok(new MeResponse(new MeUser(user.Id, user.Email!, user.DisplayName), organizations, "cookie"));
    }
}
