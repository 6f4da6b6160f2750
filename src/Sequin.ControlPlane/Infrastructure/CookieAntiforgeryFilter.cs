using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Identity;

namespace Sequin.ControlPlane.Infrastructure;

/// <summary>
/// Cross-site request forgery protection for the dashboard: an unsafe request (POST/PUT/PATCH/DELETE)
/// authenticated by the session cookie must carry the antiforgery token (header <c>X-CSRF-TOKEN</c>, obtained from
/// <c>GET /api/v1/auth/csrf</c>). API-key requests carry no ambient credential and need no token.
/// </summary>
internal sealed class CookieAntiforgeryFilter(IAntiforgery antiforgery) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var unsafeMethod = !(HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method) || HttpMethods.IsOptions(http.Request.Method));
        var byCookie = http.User.Identity is { IsAuthenticated: true, AuthenticationType: var type } && type == IdentityConstants.ApplicationScheme;
        if (unsafeMethod && byCookie && !await antiforgery.IsRequestValidAsync(http))
        {
            return TypedResults.Problem(
                title: "Antiforgery token missing or invalid",
                detail: "Cookie-authenticated changes need the X-CSRF-TOKEN header from GET /api/v1/auth/csrf.",
                statusCode: StatusCodes.Status400BadRequest);
        }

        return await next(context);
    }
}
