using System.Security.Claims;
using Microsoft.AspNetCore.Identity;

namespace Sequin.ControlPlane.Auth;

/// <summary>Who is calling: a signed-in user (cookie) or an API key of one organization.</summary>
internal readonly record struct CurrentActor(Guid? UserId, Guid? ApiKeyId, Guid? ApiKeyOrgId)
{
    public static CurrentActor From(ClaimsPrincipal principal)
    {
        if (principal.Identity is not { IsAuthenticated: true })
        {
            return default;
        }

        if (principal.FindFirstValue(SequinClaims.ApiKeyId) is { } keyId)
        {
            return new CurrentActor(null, Guid.Parse(keyId), Guid.Parse(principal.FindFirstValue(SequinClaims.OrgId)!));
        }

        return Guid.TryParse(principal.FindFirstValue(ClaimTypes.NameIdentifier), out var userId)
            && principal.Identity.AuthenticationType == IdentityConstants.ApplicationScheme
            ? new CurrentActor(userId, null, null)
            : default;
    }

    public bool IsAuthenticated => UserId is not null || ApiKeyId is not null;
}
