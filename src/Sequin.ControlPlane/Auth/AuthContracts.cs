using FluentValidation;

namespace Sequin.ControlPlane.Auth;

/// <summary>Body of <c>POST /api/v1/auth/signup</c>.</summary>
/// <param name="Email">The sign-in name; a valid address, at most 254 characters.</param>
/// <param name="Password">At least 10 characters and 4 distinct ones; no composition rules (NIST SP 800-63B).</param>
/// <param name="Name">Display name, optional, at most 200 characters.</param>
/// <param name="OrganizationName">Name of the organization this sign-up creates (1–200 characters).</param>
public sealed record SignUpRequest(string Email, string Password, string? Name, string OrganizationName);

/// <summary>Body of <c>POST /api/v1/auth/signin</c>.</summary>
public sealed record SignInRequest(string Email, string Password);

/// <summary>The signed-in user and the organizations they belong to.</summary>
public sealed record MeResponse(MeUser? User, IReadOnlyList<MeOrganization> Organizations, string AuthenticatedBy);

public sealed record MeUser(Guid Id, string Email, string? Name);

public sealed record MeOrganization(Guid Id, string Name, string Slug, string Role);

/// <summary>Antiforgery token for cookie-authenticated changes; send it as header <c>X-CSRF-TOKEN</c>.</summary>
public sealed record CsrfResponse(string Token, string HeaderName);

internal sealed class SignUpRequestValidator : AbstractValidator<SignUpRequest>
{
    public SignUpRequestValidator()
    {
        RuleFor(r => r.Email).NotEmpty().MaximumLength(254).EmailAddress();
        RuleFor(r => r.Password).NotEmpty().MinimumLength(10).MaximumLength(256);
        RuleFor(r => r.Name).MaximumLength(200);
        RuleFor(r => r.OrganizationName).NotEmpty().MaximumLength(200)
            .Must(n => n is null || !n.Any(char.IsControl)).WithMessage("'Organization Name' must not contain control characters.");
    }
}

internal sealed class SignInRequestValidator : AbstractValidator<SignInRequest>
{
    public SignInRequestValidator()
    {
        RuleFor(r => r.Email).NotEmpty().MaximumLength(254);
        RuleFor(r => r.Password).NotEmpty().MaximumLength(256);
    }
}
