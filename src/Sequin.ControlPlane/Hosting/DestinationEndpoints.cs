using FluentValidation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Sequin.ControlPlane.Infrastructure;
using Sequin.ControlPlane.Tenancy;
using Sequin.Platform.Data;

namespace Sequin.ControlPlane.Hosting;

/// <summary>Body of <c>POST /api/v1/orgs/{orgId}/destinations/test</c>: a key=value connection string or a <c>postgres://</c> URL.</summary>
public sealed record TestDestinationRequest(string ConnectionString);

/// <summary>Whether Sequin can connect to the database (Postgres 12 or newer), or why not.</summary>
public sealed record TestDestinationResponse(bool Ok, string? Error);

internal sealed class TestDestinationRequestValidator : AbstractValidator<TestDestinationRequest>
{
    public TestDestinationRequestValidator() => RuleFor(r => r.ConnectionString).NotEmpty().MaximumLength(2000);
}

/// <summary><c>/api/v1/orgs/{orgId}/destinations/test</c>: the "test connection" of the own-Postgres destination.</summary>
internal static class DestinationEndpoints
{
    public static RouteGroupBuilder MapDestinationEndpoints(this RouteGroupBuilder org)
    {
        org.MapPost("/destinations/test", async Task<Ok<TestDestinationResponse>> (TestDestinationRequest request, CancellationToken ct) =>
                TypedResults.Ok(await HostedDatabases.TryConnectAsync(request.ConnectionString, ct) is { } error
                    ? new TestDestinationResponse(false, error)
                    : new TestDestinationResponse(true, null)))
            .Validate<TestDestinationRequest>().RequireOrgRole(OrganizationRoles.Admin).WithTags("Syncs")
            .WithSummary("Try to connect to your own Postgres (5 s timeout) before creating a sync into it; nothing is stored.");
        return org;
    }
}
