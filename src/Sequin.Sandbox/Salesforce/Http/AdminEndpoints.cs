using Microsoft.AspNetCore.Http.HttpResults;

namespace Sequin.Sandbox.Salesforce.Http;

/// <summary>
/// The admin API under <c>/_sandbox/</c> that tests and the demo drive: orgs, tokens, faults, live
/// activity, validation rules and field type changes. A thin layer over <see cref="SalesforceSandbox"/>; errors are RFC 7807
/// problem details (404 unknown org, 400 invalid input, 401 missing admin key).
/// </summary>
internal static class AdminEndpoints
{
    public const string AdminKeyHeader = "X-Sandbox-Admin-Key";

    public static void Map(IEndpointRouteBuilder root, SalesforceSandbox sandbox, string prefix)
    {
        var admin = root.MapGroup("/_sandbox");
        admin.AddEndpointFilter(async (context, next) =>
        {
            var key = sandbox.Options.AdminKey;
            // Fails closed: with a key configured, a missing or different header is 401.
            if (!string.IsNullOrEmpty(key)
                && !OAuthEndpoints.FixedTimeEquals(context.HttpContext.Request.Headers[AdminKeyHeader].ToString(), key))
            {
                return TypedResults.Problem(statusCode: 401, title: "Unauthorized", detail: $"Send the {AdminKeyHeader} header.");
            }
            try
            {
                return await next(context);
            }
            catch (KeyNotFoundException ex)
            {
                return TypedResults.Problem(statusCode: 404, title: "Not found", detail: ex.Message);
            }
            catch (ArgumentException ex)
            {
                return TypedResults.Problem(statusCode: 400, title: "Invalid request", detail: ex.Message);
            }
        });

        admin.MapPost("/orgs", Results<Created<OrgCreated>, ProblemHttpResult> (SandboxOrgSpec spec) =>
        {
            var org = sandbox.CreateOrg(spec);
            return TypedResults.Created($"{prefix}/_sandbox/orgs/{org.OrgId}", new OrgCreated(org.OrgId, org.Name));
        });
        admin.MapGet("/orgs", () => TypedResults.Ok(sandbox.ListOrgs()));
        admin.MapGet("/orgs/{orgId}", Results<Ok<SandboxOrgInfo>, NotFound> (string orgId) =>
            sandbox.GetOrg(orgId) is { } org ? TypedResults.Ok(org) : TypedResults.NotFound());
        admin.MapDelete("/orgs/{orgId}", Results<NoContent, NotFound> (string orgId) =>
            sandbox.DeleteOrg(orgId) ? TypedResults.NoContent() : TypedResults.NotFound());
        admin.MapPost("/orgs/{orgId}/tokens", (HttpContext http, string orgId) =>
            TypedResults.Ok(sandbox.IssueTokens(orgId, SalesforceHttp.ExternalBase(http, sandbox.Options, prefix))));
        admin.MapPost("/orgs/{orgId}/tokens/revoke", (string orgId) =>
        {
            sandbox.RevokeTokens(orgId);
            return TypedResults.NoContent();
        });
        admin.MapGet("/orgs/{orgId}/faults", (string orgId) => TypedResults.Ok(sandbox.GetFaults(orgId)));
        admin.MapPut("/orgs/{orgId}/faults", (string orgId, SandboxFaults faults) => TypedResults.Ok(sandbox.SetFaults(orgId, faults)));
        admin.MapGet("/orgs/{orgId}/activity", (string orgId) => TypedResults.Ok(sandbox.GetActivity(orgId)));
        admin.MapPut("/orgs/{orgId}/activity", (string orgId, SandboxActivity activity) => TypedResults.Ok(sandbox.SetActivity(orgId, activity)));
        admin.MapPut("/orgs/{orgId}/sobjects/{sobject}/fields/{field}", (string orgId, string sobject, string field, SandboxFieldChange change) =>
            TypedResults.Ok(sandbox.ChangeFieldType(orgId, sobject, field, change)));
        admin.MapGet("/orgs/{orgId}/validation-rules", (string orgId) => TypedResults.Ok(sandbox.GetValidationRules(orgId)));
        admin.MapPut("/orgs/{orgId}/validation-rules", (string orgId, List<SandboxValidationRule> rules) =>
        {
            sandbox.SetValidationRules(orgId, rules);
            return TypedResults.Ok(sandbox.GetValidationRules(orgId));
        });
    }

    internal sealed record OrgCreated(string OrgId, string Name);
}
