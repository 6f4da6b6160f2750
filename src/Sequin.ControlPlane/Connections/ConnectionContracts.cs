using FluentValidation;

namespace Sequin.ControlPlane.Connections;

/// <summary>Body of <c>POST /api/v1/orgs/{orgId}/connections/oauth/start</c>.</summary>
/// <param name="Kind">Source kind: <c>salesforce</c> (HubSpot, Airtable and Stripe come with their connectors).</param>
/// <param name="Name">Name of the connection (1–200 characters). Default: the source and environment.</param>
/// <param name="Environment">A configured environment (<c>sandbox</c>, <c>production</c>, <c>test</c>). Default: <c>sandbox</c>.</param>
/// <param name="ReturnTo">Path of this site to send the browser to afterwards (must start with one <c>/</c>).</param>
public sealed record StartOAuthRequest(string Kind, string? Name, string? Environment, string? ReturnTo);

/// <summary>Where to send the user: open <see cref="AuthorizeUrl"/> in the browser; it comes back to the callback.</summary>
public sealed record StartOAuthResponse(string AuthorizeUrl, DateTimeOffset ExpiresAt);

/// <summary>A connected source account (secrets never leave the server).</summary>
public sealed record ConnectionResponse(Guid Id, string Kind, string Name, string Status, string? InstanceUrl, string? ExternalAccountId,
    DateTimeOffset CreatedAt, DateTimeOffset? LastTestedAt, string? LastError);

internal sealed class StartOAuthRequestValidator : AbstractValidator<StartOAuthRequest>
{
    public StartOAuthRequestValidator()
    {
        RuleFor(r => r.Kind).NotEmpty().Must(k => k == "salesforce")
            .WithMessage(r => r.Kind is "hubspot" or "airtable" or "stripe"
                ? $"'{r.Kind}' connections are not available yet; supported: salesforce."
                : "'Kind' must be one of: salesforce.");
        RuleFor(r => r.Name).MaximumLength(200).Must(n => n is null || (n.Trim().Length > 0 && !n.Any(char.IsControl)))
            .WithMessage("'Name' must be 1–200 printable characters.");
        RuleFor(r => r.Environment).MaximumLength(50);
        RuleFor(r => r.ReturnTo).MaximumLength(500)
            .Must(r => r is null || (r.StartsWith('/') && !r.StartsWith("//", StringComparison.Ordinal) && !r.Contains('\\', StringComparison.Ordinal)))
            .WithMessage("'Return To' must be a path of this site, starting with a single '/'.");
    }
}
